package components_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/vendors"
)

const (
	acct          = "123456789012"
	policyType    = "aws:iam/policy:Policy"
	roleType      = "aws:iam/role:Role"
	attachType    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	readOnlyARN   = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	snCloudMgr    = "arn:aws:iam::311022431024:role/cloud-manager"
	snSupport     = "arn:aws:iam::311022431024:role/cloud-support-general"
	snGoogleAud   = "108050666045451143798"
	streamkapRole = "arn:aws:iam::300973880807:role/installer-delegation"
)

// deployment is what one run of the component registered and output.
type deployment struct {
	mocks   *render.Mocks
	outputs map[string]any
}

func (d deployment) byName(typ, name string) map[string]any {
	for _, r := range d.mocks.ByType(typ) {
		if r.Inputs["name"] == name {
			return r.Inputs
		}
	}
	return nil
}

func (d deployment) names(typ string) []string {
	var out []string
	for _, r := range d.mocks.ByType(typ) {
		out = append(out, r.Inputs["name"].(string))
	}
	sort.Strings(out)
	return out
}

// attachments returns role name -> attached policy ARNs.
func (d deployment) attachments() map[string][]string {
	out := map[string][]string{}
	for _, r := range d.mocks.ByType(attachType) {
		role := r.Inputs["role"].(string)
		out[role] = append(out[role], r.Inputs["policyArn"].(string))
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func trust(t *testing.T, role map[string]any) []map[string]any {
	t.Helper()
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(role["assumeRolePolicy"].(string)), &doc))
	require.Equal(t, "2012-10-17", doc.Version)
	return doc.Statement
}

func deploy(t *testing.T, vendor string, args components.VendorAccessArgs) (deployment, error) {
	t.Helper()
	spec, err := vendors.Preset(vendor)
	require.NoError(t, err)
	args.Spec = spec
	m := render.NewMocks(acct, "aws", "us-east-1")
	m.KMSKeyARN = func(id string) string {
		return "arn:aws:kms:us-east-1:" + acct + ":key/" + strings.TrimPrefix(id, "alias/aws/")
	}
	d := deployment{mocks: m, outputs: map[string]any{}}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		va, err := components.NewVendorAccess(ctx, vendor, &args)
		if err != nil {
			return err
		}
		for name, o := range map[string]pulumi.Output{
			"accountId": va.AccountID, "roleArns": va.RoleArns, "policyArns": va.PolicyArns,
			"boundaryArn": va.BoundaryArn, "externalId": va.ExternalID, "handoff": va.Handoff,
		} {
			r, err := internals.UnsafeAwaitOutput(context.Background(), o)
			if err != nil {
				return err
			}
			if !r.Known {
				return errors.New("output " + name + " is unknown")
			}
			d.outputs[name] = r.Value
		}
		return nil
	}, pulumi.WithMocks("byoc-access", "test", m))
	return d, err
}

func TestStreamkapPreset(t *testing.T) {
	d, err := deploy(t, "streamkap", components.VendorAccessArgs{})
	require.NoError(t, err)

	require.Equal(t, []string{"StreamkapDeprovisionAccess", "StreamkapProvisionAccess"}, d.names(policyType))
	require.Equal(t, []string{"StreamkapInstallAccess"}, d.names(roleType))
	for _, n := range d.names(policyType) {
		p := d.byName(policyType, n)
		require.Equal(t, "/", p["path"])
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(p["policy"].(string)), &doc))
		st := doc["Statement"].([]any)[0].(map[string]any)
		require.Equal(t, "", st["Sid"])
		require.Equal(t, "Allow", st["Effect"])
		require.Equal(t, "*", st["Resource"])
	}
	role := d.byName(roleType, "StreamkapInstallAccess")
	require.Equal(t, "/", role["path"])
	require.EqualValues(t, 3600, role["maxSessionDuration"])
	require.Nil(t, role["permissionsBoundary"], "Streamkap publishes no boundary")
	require.Equal(t, []map[string]any{{
		"Sid": "", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": map[string]any{"AWS": streamkapRole},
	}}, trust(t, role), "no external ID condition by default, as Streamkap publishes it")
	require.Equal(t, map[string][]string{"StreamkapInstallAccess": {
		"arn:aws:iam::" + acct + ":policy/StreamkapDeprovisionAccess",
		"arn:aws:iam::" + acct + ":policy/StreamkapProvisionAccess",
	}}, d.attachments())
	require.Empty(t, d.mocks.ByType("aws:iam/rolePolicy:RolePolicy"))

	require.Equal(t, acct, d.outputs["accountId"])
	require.Equal(t, map[string]string{"StreamkapInstallAccess": "arn:aws:iam::" + acct + ":role/StreamkapInstallAccess"}, d.outputs["roleArns"])
	require.Equal(t, "", d.outputs["boundaryArn"])
	require.Equal(t, "", d.outputs["externalId"])
	require.Len(t, d.outputs["policyArns"], 2)
	handoff := d.outputs["handoff"].(map[string]any)
	require.Equal(t, acct, handoff["accountId"])
	require.Equal(t, "Streamkap", handoff["vendor"])
	require.Equal(t, map[string]string{"StreamkapInstallAccess": "arn:aws:iam::" + acct + ":role/StreamkapInstallAccess"}, handoff["roleArns"])
}

func TestStreamkapExternalIDAndTags(t *testing.T) {
	d, err := deploy(t, "streamkap", components.VendorAccessArgs{
		Params: map[string]any{"external_id": "sk-tenant-7", "role_name": "VendorStreamkap", "tags": map[string]any{"team": "data"}},
		Tags:   map[string]string{"ManagedBy": "byoc-access"},
	})
	require.NoError(t, err)
	role := d.byName(roleType, "VendorStreamkap")
	require.NotNil(t, role)
	st := trust(t, role)
	require.Len(t, st, 1)
	require.Equal(t, map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "sk-tenant-7"}}, st[0]["Condition"])
	want := map[string]any{"team": "data", "ManagedBy": "byoc-access"}
	require.Equal(t, want, role["tags"])
	for _, n := range d.names(policyType) {
		require.Equal(t, want, d.byName(policyType, n)["tags"])
	}
	require.Equal(t, "sk-tenant-7", d.outputs["externalId"])
	require.Equal(t, "sk-tenant-7", d.outputs["handoff"].(map[string]any)["externalId"])
}

func TestStreamNativePresetDefaults(t *testing.T) {
	d, err := deploy(t, "streamnative", components.VendorAccessArgs{Params: map[string]any{"external_id": "o-abcde"}})
	require.NoError(t, err)

	require.Equal(t, []string{
		"StreamNativeCloudLBPolicy", "StreamNativeCloudManagementPolicy", "StreamNativeCloudPermissionBoundary",
		"StreamNativeCloudProvision1Policy", "StreamNativeCloudProvision2Policy", "StreamNativeCloudProvisionPreservePolicy",
		"StreamNativeCloudRuntimePolicy",
	}, d.names(policyType))
	require.Equal(t, []string{"StreamNativeCloudBootstrapRole", "StreamNativeCloudManagementRole"}, d.names(roleType))

	snTags := map[string]any{"Vendor": "StreamNative", "SNVersion": "3.25.0"}
	for _, n := range d.names(policyType) {
		p := d.byName(policyType, n)
		require.Equal(t, "/StreamNative/", p["path"], n)
		require.Equal(t, snTags, p["tags"], n)
		require.NotEmpty(t, p["description"], n)
	}
	boundary := "arn:aws:iam::" + acct + ":policy/StreamNative/StreamNativeCloudPermissionBoundary"
	for _, n := range d.names(roleType) {
		r := d.byName(roleType, n)
		require.Equal(t, "/StreamNative/", r["path"], n)
		require.EqualValues(t, 43200, r["maxSessionDuration"], n)
		require.Equal(t, boundary, r["permissionsBoundary"], n)
		require.Equal(t, snTags, r["tags"], n)
	}

	ext := map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "o-abcde"}}
	vendorAccess := map[string]any{"Sid": "AllowStreamNativeVendorAccess", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": map[string]any{"AWS": snCloudMgr}, "Condition": ext}
	engineer := map[string]any{"Sid": "AllowStreamNativeEngineerAccess", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": map[string]any{"AWS": snSupport}, "Condition": ext}
	controlPlane := map[string]any{"Sid": "AllowStreamNativeControlPlaneAccess", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": map[string]any{"Federated": "accounts.google.com"},
		"Condition": map[string]any{"StringEquals": map[string]any{"accounts.google.com:aud": snGoogleAud}}}
	require.Equal(t, []map[string]any{vendorAccess, engineer, controlPlane}, trust(t, d.byName(roleType, "StreamNativeCloudBootstrapRole")))
	require.Equal(t, []map[string]any{vendorAccess, controlPlane}, trust(t, d.byName(roleType, "StreamNativeCloudManagementRole")))

	pol := func(n string) string { return "arn:aws:iam::" + acct + ":policy/StreamNative/" + n }
	require.Equal(t, map[string][]string{
		"StreamNativeCloudBootstrapRole":  {pol("StreamNativeCloudProvision1Policy"), pol("StreamNativeCloudProvision2Policy"), pol("StreamNativeCloudProvisionPreservePolicy"), readOnlyARN},
		"StreamNativeCloudManagementRole": {pol("StreamNativeCloudManagementPolicy"), readOnlyARN},
	}, d.attachments(), "runtime and LB policies are created, not attached")

	require.Equal(t, boundary, d.outputs["boundaryArn"])
	require.Equal(t, "o-abcde", d.outputs["externalId"])
	require.Equal(t, map[string]string{
		"StreamNativeCloudBootstrapRole":  "arn:aws:iam::" + acct + ":role/StreamNative/StreamNativeCloudBootstrapRole",
		"StreamNativeCloudManagementRole": "arn:aws:iam::" + acct + ":role/StreamNative/StreamNativeCloudManagementRole",
	}, d.outputs["roleArns"])
	require.Len(t, d.outputs["policyArns"], 7)

	// The KMS defaults are looked up through the provider, with the component as parent.
	var kmsLookups []string
	for _, c := range d.mocks.Calls() {
		if c.Token == "aws:kms/getKey:getKey" {
			kmsLookups = append(kmsLookups, c.Args["keyId"].(string))
		}
	}
	require.ElementsMatch(t, []string{"alias/aws/ebs", "alias/aws/s3"}, kmsLookups)
}

func TestStreamNativeOptions(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		check  func(t *testing.T, d deployment)
	}{
		{
			name:   "no bootstrap role",
			params: map[string]any{"external_id": "o-abcde", "create_bootstrap_role": false},
			check: func(t *testing.T, d deployment) {
				require.Equal(t, []string{"StreamNativeCloudManagementRole"}, d.names(roleType))
				require.NotContains(t, d.names(policyType), "StreamNativeCloudProvision1Policy")
				require.NotContains(t, d.names(policyType), "StreamNativeCloudProvisionPreservePolicy")
				require.Contains(t, d.names(policyType), "StreamNativeCloudPermissionBoundary")
			},
		},
		{
			name:   "external ID list, source identity, principal check, federation",
			params: map[string]any{"external_ids": []any{"o-a1", "o-b2"}, "source_identities": []any{"sn-*"}, "streamnative_principal_ids": []any{"AROA*"}, "enforce_vendor_federation": true},
			check: func(t *testing.T, d deployment) {
				st := trust(t, d.byName(roleType, "StreamNativeCloudBootstrapRole"))
				require.Equal(t, map[string]any{
					"ForAllValues:StringEquals": map[string]any{"sts:ExternalId": []any{"o-a1", "o-b2"}},
					"ForAnyValue:StringLike":    map[string]any{"sts:SourceIdentity": "sn-*"},
					"StringLike":                map[string]any{"aws:PrincipalArn": "AROA*", "aws:FederatedProvider": "accounts.google.com"},
				}, st[0]["Condition"])
				require.Equal(t, map[string]any{
					"ForAllValues:StringEquals": map[string]any{"sts:ExternalId": []any{"o-a1", "o-b2"}},
					"ForAnyValue:StringLike":    map[string]any{"sts:SourceIdentity": "sn-*"},
				}, st[1]["Condition"], "the engineer statement has only the external ID and source identity")
			},
		},
		{
			name:   "empty external ID means no condition",
			params: map[string]any{},
			check: func(t *testing.T, d deployment) {
				st := trust(t, d.byName(roleType, "StreamNativeCloudManagementRole"))
				require.NotContains(t, st[0], "Condition")
			},
		},
		{
			name:   "suffix and user tags",
			params: map[string]any{"external_id": "o-abcde", "test_suffix": "-dev", "tags": map[string]any{"team": "streaming"}},
			check: func(t *testing.T, d deployment) {
				require.Equal(t, []string{"StreamNativeCloudBootstrapRole-dev", "StreamNativeCloudManagementRole-dev"}, d.names(roleType))
				require.Equal(t, map[string]any{"Vendor": "StreamNative", "SNVersion": "3.25.0", "team": "streaming"},
					d.byName(roleType, "StreamNativeCloudManagementRole-dev")["tags"])
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := deploy(t, "streamnative", components.VendorAccessArgs{Params: tt.params})
			require.NoError(t, err)
			tt.check(t, d)
		})
	}
}

func TestAccountFromProvider(t *testing.T) {
	d, err := deploy(t, "streamkap", components.VendorAccessArgs{})
	require.NoError(t, err)
	var tokens []string
	for _, c := range d.mocks.Calls() {
		tokens = append(tokens, c.Token)
	}
	require.Contains(t, tokens, "aws:index/getCallerIdentity:getCallerIdentity")

	d, err = deploy(t, "streamkap", components.VendorAccessArgs{AccountID: "210987654321", Partition: "aws"})
	require.NoError(t, err)
	require.Empty(t, d.mocks.Calls(), "an explicit account and partition need no lookups")
	require.Equal(t, "210987654321", d.outputs["accountId"])
}

func TestBadInputRegistersNothing(t *testing.T) {
	tests := []struct {
		name string
		args components.VendorAccessArgs
		want string
	}{
		{"missing required external ID format", components.VendorAccessArgs{Params: map[string]any{"external_id": "x"}}, "2 to 1224 characters"},
		{"external ID charset", components.VendorAccessArgs{Params: map[string]any{"external_id": "has space"}}, "may contain only"},
		{"role name over 64", components.VendorAccessArgs{Params: map[string]any{"role_name": strings.Repeat("x", 65)}}, "at most 64"},
		{"unknown parameter", components.VendorAccessArgs{Params: map[string]any{"externalId": "abc"}}, "unknown parameter"},
		{"bad account", components.VendorAccessArgs{AccountID: "12345"}, "exactly 12 digits"},
		{"reserved tag", components.VendorAccessArgs{Tags: map[string]string{"aws:owner": "me"}}, "reserved by AWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := deploy(t, "streamkap", tt.args)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, d.mocks.Resources(), "validation happens before anything is registered")
		})
	}
}

func TestNilSpec(t *testing.T) {
	m := render.NewMocks(acct, "", "")
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewVendorAccess(ctx, "x", &components.VendorAccessArgs{})
		return err
	}, pulumi.WithMocks("byoc-access", "test", m))
	require.ErrorContains(t, err, "a vendor spec is required")
}

func TestAdoptImportsExistingResources(t *testing.T) {
	d, err := deploy(t, "streamkap", components.VendorAccessArgs{
		AccountID: acct, Partition: "aws",
		Adopt: map[string]bool{"role/StreamkapInstallAccess": true, "policy/StreamkapProvisionAccess": true},
	})
	require.NoError(t, err)
	imports := map[string]string{}
	for _, r := range d.mocks.Resources() {
		if r.ImportID != "" {
			imports[r.Inputs["name"].(string)] = r.ImportID
		}
	}
	require.Equal(t, map[string]string{
		"StreamkapInstallAccess":   "StreamkapInstallAccess",
		"StreamkapProvisionAccess": "arn:aws:iam::" + acct + ":policy/StreamkapProvisionAccess",
	}, imports)
}

// aliasMocks records the aliases each resource was registered with, by logical name, and the
// resources registered to be deleted before they are replaced.
type aliasMocks struct {
	*render.Mocks
	mu      sync.Mutex
	aliases map[string][]string
	dbr     map[string]bool
}

func (m *aliasMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	if m.dbr != nil {
		m.dbr[args.Name] = args.RegisterRPC.GetDeleteBeforeReplace()
	}
	for _, a := range args.RegisterRPC.GetAliases() {
		if spec := a.GetSpec(); spec != nil {
			m.aliases[args.Name] = append(m.aliases[args.Name], spec.GetName())
		} else {
			m.aliases[args.Name] = append(m.aliases[args.Name], a.GetUrn())
		}
	}
	m.mu.Unlock()
	return m.Mocks.NewResource(args)
}

// collidingSpec attaches, to one role, a spec policy whose ID is a managed policy's name
// (ReadOnlyAccess), two managed policies whose ARNs end alike (SecurityAudit), and one managed
// policy whose last segment is unique (AmazonS3ReadOnlyAccess).
const collidingSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
policies:
  - id: ReadOnlyAccess
    name: AcmeReadOnly
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetObject]
          Resource: "arn:${partition}:s3:::acme-${account_id}/*"
roles:
  - id: main
    name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals:
          - type: AWS
            identifiers: arn:aws:iam::111122223333:role/acme
    policies:
      - policy: ReadOnlyAccess
      - policy: arn:aws:iam::aws:policy/ReadOnlyAccess
      - policy: arn:aws:iam::aws:policy/SecurityAudit
      - policy: arn:aws:iam::${account_id}:policy/SecurityAudit
      - policy: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
`

// TestAttachmentNamesAreUniqueAndKeepOldStacks: attachment names come from the whole ARN, so
// ARNs with the same last segment, or a spec ID equal to a managed policy's name, no longer
// give two resources one URN; attachments renamed by this carry their old name as an alias
// (when it was unambiguous), so stacks deployed before keep their attachments.
func TestAttachmentNamesAreUniqueAndKeepOldStacks(t *testing.T) {
	spec, err := vendors.Load("colliding.yaml", []byte(collidingSpec))
	require.NoError(t, err)
	m := &aliasMocks{Mocks: render.NewMocks(acct, "aws", "us-east-1"), aliases: map[string][]string{}}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewVendorAccess(ctx, "acme", &components.VendorAccessArgs{Spec: spec, AccountID: acct, Partition: "aws"})
		return err
	}, pulumi.WithMocks("byoc-access", "test", m))
	require.NoError(t, err)

	byName := map[string]string{}
	for _, r := range m.ByType(attachType) {
		_, dup := byName[r.Name]
		require.False(t, dup, "two attachments share the logical name %q (so the URN)", r.Name)
		byName[r.Name] = r.Inputs["policyArn"].(string)
	}
	require.Equal(t, map[string]string{
		"acme-AcmeAccess-attach-AcmeReadOnly":                                   "arn:aws:iam::" + acct + ":policy/AcmeReadOnly",
		"acme-AcmeAccess-attach-arn:aws:iam::aws:policy/ReadOnlyAccess":         "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"acme-AcmeAccess-attach-arn:aws:iam::aws:policy/SecurityAudit":          "arn:aws:iam::aws:policy/SecurityAudit",
		"acme-AcmeAccess-attach-arn:aws:iam::" + acct + ":policy/SecurityAudit": "arn:aws:iam::" + acct + ":policy/SecurityAudit",
		"acme-AcmeAccess-attach-arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
	}, byName)

	attachAliases := map[string][]string{}
	for name := range byName {
		if a := m.aliases[name]; a != nil {
			attachAliases[name] = a
		}
	}
	require.Equal(t, map[string][]string{
		// The only attachment whose old name was its own: existing stacks move it instead of
		// replacing it. The others shared their old names, so no stack can hold them.
		"acme-AcmeAccess-attach-arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess": {"acme-main-attach-AmazonS3ReadOnlyAccess"},
	}, attachAliases, "ambiguous old names get no alias")
}

// TestPresetResourcesKeepTheirStateAndReplaceSafely: logical names come from IAM names, so a
// spec ID renamed later changes nothing; the names earlier releases deployed the preset under
// (from spec IDs, and a managed attachment's last ARN segment) are aliased, so stacks deployed
// then keep every resource; and every resource is deleted before it is replaced, since its IAM
// name stays taken until the old one is gone.
func TestPresetResourcesKeepTheirStateAndReplaceSafely(t *testing.T) {
	spec, err := vendors.Preset("streamnative")
	require.NoError(t, err)
	m := &aliasMocks{Mocks: render.NewMocks(acct, "aws", "us-east-1"), aliases: map[string][]string{}, dbr: map[string]bool{}}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewVendorAccess(ctx, "streamnative", &components.VendorAccessArgs{Spec: spec, AccountID: acct, Partition: "aws",
			Params: map[string]any{"external_id": "o-abcde"}})
		return err
	}, pulumi.WithMocks("byoc-access", "test", m))
	require.NoError(t, err)

	grant, err := spec.Resolve(vendors.Target{AccountID: acct, Partition: "aws", Region: "us-east-1",
		LookupKMSKeyARN: func(k string) (string, error) { return "arn:aws:kms:us-east-1:" + acct + ":key/x", nil }},
		map[string]any{"external_id": "o-abcde"})
	require.NoError(t, err)
	for _, p := range grant.Policies {
		name := "streamnative-policy-" + p.Name
		require.Contains(t, m.dbr, name)
		if p.ID != p.Name {
			require.Equal(t, []string{"streamnative-policy-" + p.ID}, m.aliases[name])
		}
	}
	managed := 0
	for _, r := range grant.Roles {
		name := "streamnative-role-" + r.Name
		require.Contains(t, m.dbr, name)
		require.Equal(t, []string{"streamnative-role-" + r.ID}, m.aliases[name], "role %s was deployed as %s", r.Name, r.ID)
		for _, a := range r.Attachments {
			var attach, old string
			if a.PolicyID != "" {
				p, _ := grant.Policy(a.PolicyID)
				attach, old = "streamnative-"+r.Name+"-attach-"+p.Name, "streamnative-"+r.ID+"-attach-"+a.PolicyID
			} else {
				managed++
				attach, old = "streamnative-"+r.Name+"-attach-"+a.ARN, "streamnative-"+r.ID+"-attach-"+a.ARN[strings.LastIndex(a.ARN, "/")+1:]
			}
			require.Equal(t, []string{old}, m.aliases[attach], attach)
		}
	}
	require.Positive(t, managed, "the preset attaches AWS managed policies")
	for name, dbr := range m.dbr {
		if name != "streamnative" {
			require.True(t, dbr, "%s must be deleted before it is replaced", name)
		}
	}
}
