package cfnimport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/cfnimport"
)

const account = "123456789012"

// importAndLoad imports a template, writes the spec and loads it back the way users will.
func importAndLoad(t *testing.T, data []byte, name string) (*vendors.VendorSpec, []cfnimport.Issue) {
	t.Helper()
	res, err := cfnimport.Import("template.yaml", data, cfnimport.Options{Name: name})
	require.NoError(t, err)
	out, err := cfnimport.Marshal(res.Spec)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	spec, err := vendors.LoadFile(path)
	require.NoError(t, err, "the imported spec loads:\n%s", out)
	return spec, res.Issues
}

func renderSpec(t *testing.T, spec *vendors.VendorSpec, params map[string]any) *iamstate.Account {
	t.Helper()
	a, err := render.Render(spec, render.Options{AccountID: account, Params: params})
	require.NoError(t, err)
	return a
}

func TestStreamkapSeedImportRendersAsThePreset(t *testing.T) {
	text, err := os.ReadFile(testenv.SharedFile(t, "seeds/streamkap-byoc-aws.txt"))
	require.NoError(t, err)
	i := strings.Index(string(text), "AWSTemplateFormatVersion")
	require.Positive(t, i)

	spec, issues := importAndLoad(t, text[i:], "streamkap-imported")
	require.Empty(t, issues, "the seed's template translates fully")

	preset, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	require.Equal(t, renderSpec(t, preset, nil), renderSpec(t, spec, nil))
}

func TestImportTranslatesRefsSubsAndInlinePolicies(t *testing.T) {
	data, err := os.ReadFile("testdata/acme.yaml")
	require.NoError(t, err)
	spec, issues := importAndLoad(t, data, "acme")
	require.Empty(t, issues)
	require.Equal(t, "ExternalId", spec.Handoff.ExternalIDParam)

	_, err = spec.Resolve(vendors.Target{AccountID: account}, nil)
	require.ErrorContains(t, err, `parameter "ExternalId"`, "a parameter without a default is required")

	got := renderSpec(t, spec, map[string]any{"ExternalId": "tenant-9"})
	role := got.Roles["AcmeAccess"]
	require.Equal(t, "/acme/", role.Path)
	require.Equal(t, 7200, role.MaxSessionDuration)
	require.Equal(t, "arn:aws:iam::"+account+":policy/acme/AcmeBoundary", *role.PermissionsBoundary)
	require.Equal(t, []string{"arn:aws:iam::" + account + ":policy/acme/AcmeRead", "arn:aws:iam::aws:policy/ReadOnlyAccess"}, role.AttachedPolicies)
	require.Equal(t, map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"AWS": []any{"arn:aws:iam::111122223333:role/acme-a", "arn:aws:iam::111122223333:role/acme-b"}},
			"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "tenant-9"}},
		}},
	}, role.TrustPolicy)
	inline := role.InlinePolicies["AcmeLogs"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:logs:*:*:log-group:/acme/${literal}", inline["Resource"], "${!x} in !Sub is a literal ${x}")
	boundary := got.Policies["AcmeBoundary"].Document.(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:s3:::acme-"+account+"-*", boundary["Resource"])
	read := got.Policies["AcmeRead"].Document.(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:s3:::acme/*", read["Resource"])
}

func TestImportReportsWhatItCannotTranslate(t *testing.T) {
	data, err := os.ReadFile("testdata/unsupported.yaml")
	require.NoError(t, err)
	res, err := cfnimport.Import("unsupported.yaml", data, cfnimport.Options{Name: "acme"})
	require.NoError(t, err)
	var got []string
	for _, i := range res.Issues {
		got = append(got, i.String())
	}
	want := []string{
		"Conditions.IsProd: condition IsProd: only Fn::Equals of a parameter and a literal, or Fn::Not of one, translate",
		"Outputs: outputs are not carried over",
		"Resources.Bucket.Type: resource type AWS::S3::Bucket is not supported",
		"Resources.Policy.Condition: resource condition IsProd was not translated (see Conditions); the resource is always created",
		"Resources.Policy.Properties.PolicyDocument.Statement[0].Resource: intrinsic function Fn::GetAtt is not supported",
		"Resources.Role.Properties.RoleName: intrinsic function Fn::If is not supported",
		"Resources.Role.Properties.RoleName: no RoleName: CloudFormation would generate one",
	}
	require.Len(t, got, len(want), "%s", strings.Join(got, "\n"))
	for i, w := range want {
		require.Contains(t, got[i], w)
	}
}

func TestImportBadInput(t *testing.T) {
	_, err := cfnimport.Import("t.yaml", []byte("Resources: [unclosed"), cfnimport.Options{Name: "acme"})
	require.ErrorContains(t, err, "t.yaml: not a YAML or JSON template")
	_, err = cfnimport.Import("t.yaml", []byte("Description: nothing\n"), cfnimport.Options{Name: "acme"})
	require.ErrorContains(t, err, "no Resources")
	_, err = cfnimport.Import("t.yaml", []byte("Resources: {}\n"), cfnimport.Options{Name: "Acme Corp"})
	require.ErrorContains(t, err, `--name "Acme Corp"`)
}

func TestImportTranslatesConditionsAndIf(t *testing.T) {
	data, err := os.ReadFile("testdata/conditions.yaml")
	require.NoError(t, err)
	spec, issues := importAndLoad(t, data, "acme")
	require.Empty(t, issues)

	tests := []struct {
		name     string
		params   map[string]any
		policies []string
		attached []string
	}{
		{
			name:     "defaults: no pro policy, view-only",
			attached: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"},
		},
		{
			name:     "pro and audit",
			params:   map[string]any{"Tier": "pro", "Audit": "true"},
			policies: []string{"pro-extra"},
			attached: []string{"arn:aws:iam::" + account + ":policy/pro-extra", "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/SecurityAudit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderSpec(t, spec, tt.params)
			var names []string
			for n := range got.Policies {
				names = append(names, n)
			}
			require.ElementsMatch(t, tt.policies, names)
			require.Equal(t, tt.attached, got.Roles["AcmeAccess"].AttachedPolicies)
		})
	}

	// NotGov is false in GovCloud: the !If's other branch is AWS::NoValue.
	a, err := render.Render(spec, render.Options{AccountID: account, Partition: "aws-us-gov"})
	require.NoError(t, err)
	require.Equal(t, []string{"arn:aws-us-gov:iam::aws:policy/job-function/ViewOnlyAccess"}, a.Roles["AcmeAccess"].AttachedPolicies)
}

func TestImportReportsIfOnUntranslatedCondition(t *testing.T) {
	data := []byte(`Conditions:
  Both: !And [!Equals [a, a], !Equals [b, b]]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: AcmeAccess
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {AWS: "arn:aws:iam::111122223333:role/acme"}, Action: sts:AssumeRole}
      ManagedPolicyArns: !If [Both, ["arn:aws:iam::aws:policy/ReadOnlyAccess"], !Ref "AWS::NoValue"]
`)
	res, err := cfnimport.Import("t.yaml", data, cfnimport.Options{Name: "acme"})
	require.NoError(t, err)
	var got []string
	for _, i := range res.Issues {
		got = append(got, i.String())
	}
	require.Equal(t, []string{
		"Conditions.Both: condition Both: only Fn::Equals of a parameter and a literal, or Fn::Not of one, translate; the resources and branches that use it are listed too",
		"Resources.Role.Properties.ManagedPolicyArns: Fn::If on condition Both, which was not translated; nothing is attached here",
	}, got)
}

func TestImportTranslatesFindInMap(t *testing.T) {
	data, err := os.ReadFile("testdata/mappings.yaml")
	require.NoError(t, err)
	spec, issues := importAndLoad(t, data, "acme")
	require.Empty(t, issues)

	tests := []struct {
		name, region, site, principal, bucket, err string
	}{
		{name: "defaults", region: "us-east-1", principal: "arn:aws:iam::464622532012:root", bucket: "arn:aws:s3:::acme-use1/*"},
		{name: "other site and region", region: "eu-west-1", site: "ap1.datadoghq.com", principal: "arn:aws:iam::417141415827:root", bucket: "arn:aws:s3:::acme-euw1/*"},
		{name: "a key the mapping lacks fails, as in CloudFormation", region: "us-east-1", site: "datadoghq.eu",
			err: `lookup: no entry for "datadoghq.eu"; the known values are ap1.datadoghq.com, datadoghq.com`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{}
			if tt.site != "" {
				params["Site"] = tt.site
			}
			a, err := render.Render(spec, render.Options{AccountID: account, Region: tt.region, Params: params})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			role, ok := a.Roles["AcmeAccess"]
			require.True(t, ok, "the role name comes from a literal FindInMap")
			require.Equal(t, tt.principal, role.TrustPolicy.(map[string]any)["Statement"].([]any)[0].(map[string]any)["Principal"].(map[string]any)["AWS"])
			read := role.InlinePolicies["AcmeRead"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
			require.Equal(t, tt.bucket, read["Resource"])
		})
	}

	// Two !Ref keys, and a mapping that does not exist, are reported.
	bad := strings.Replace(string(data), "!FindInMap [Fixed, Role, Name]", `!FindInMap [Fixed, !Ref Site, !Ref "AWS::Region"]`, 1)
	bad = strings.Replace(bad, "!FindInMap [SiteAccounts, !Ref Site, Account]", "!FindInMap [Nope, !Ref Site, Account]", 1)
	res, err := cfnimport.Import("t.yaml", []byte(bad), cfnimport.Options{Name: "acme"})
	require.NoError(t, err)
	var got []string
	for _, i := range res.Issues {
		got = append(got, i.String())
	}
	require.Equal(t, []string{
		"Resources.Role.Properties.RoleName: Fn::FindInMap with two !Ref keys is not supported; one key must be a literal",
		"Resources.Role.Properties.RoleName: no RoleName: CloudFormation would generate one; the spec names the role Role",
		"Resources.Role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS.Fn::Sub.Account: Fn::FindInMap: no mapping Nope in Mappings",
	}, got)
}
