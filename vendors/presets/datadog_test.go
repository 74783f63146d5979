package presets

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/cfnimport"
)

const (
	ddAnchor   = "anchors/datadog-aws-integration/quickstart-v4.3.1-static/"
	ddRoleFile = ddAnchor + "datadog_integration_role.yaml"
	ddExternal = "2a7c3e9f0b1d4c6e8f5a7b9c1d3e5f70"
)

// asJSON gives a value JSON's types, as documents read back from the component have.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// ddExpected is what the template creates for one set of parameter values.
type ddExpected struct {
	roleName string
	path     string
	trust    any
	inline   map[string]any
	policies map[string]any // managed policy name -> document
	attached []string
}

func datadogFromTemplate(t *testing.T, tpl map[string]any, given map[string]string) ddExpected {
	t.Helper()
	e := newCFNEval(t, tpl, given, map[string]string{"AWS::Partition": "aws", "AWS::AccountId": account})
	resources := tpl["Resources"].(map[string]any)
	want := ddExpected{inline: map[string]any{}, policies: map[string]any{}, attached: []string{}}
	var roleID string
	for id, r := range resources {
		res := r.(map[string]any)
		if !e.created(res) {
			continue
		}
		// Roles name a resource, not a parameter: read below.
		raw := map[string]any{}
		for k, v := range res["Properties"].(map[string]any) {
			if k != "Roles" {
				raw[k] = v
			}
		}
		props := e.eval(raw).(map[string]any)
		switch res["Type"] {
		case "AWS::IAM::Role":
			require.Empty(t, roleID, "the template has one role")
			roleID = id
			want.roleName = props["RoleName"].(string)
			want.path = props["Path"].(string)
			want.trust = asJSON(t, props["AssumeRolePolicyDocument"])
			// With the condition false the !If gives AWS::NoValue: no property at all.
			arns, _ := props["ManagedPolicyArns"].([]any)
			for _, a := range arns {
				want.attached = append(want.attached, a.(string))
			}
			for _, p := range props["Policies"].([]any) {
				pm := p.(map[string]any)
				want.inline[pm["PolicyName"].(string)] = asJSON(t, pm["PolicyDocument"])
			}
			require.NotContains(t, props, "PermissionsBoundary")
			require.NotContains(t, props, "MaxSessionDuration")
		case "AWS::IAM::ManagedPolicy":
			name := props["ManagedPolicyName"].(string)
			want.policies[name] = asJSON(t, props["PolicyDocument"])
			require.NotContains(t, props, "Path", "the template's managed policies are at /")
		default:
			t.Fatalf("resource %s: type %v is not read by this test", id, res["Type"])
		}
	}
	// Managed policies name the role they attach to.
	for _, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::ManagedPolicy" || !e.created(res) {
			continue
		}
		props := res["Properties"].(map[string]any)
		require.Equal(t, []any{map[string]any{"Ref": roleID}}, props["Roles"])
		name := e.eval(props["ManagedPolicyName"]).(string)
		want.attached = append(want.attached, "arn:aws:iam::"+account+":policy/"+name)
	}
	sort.Strings(want.attached)
	return want
}

func TestDatadogMatchesTemplate(t *testing.T) {
	tpl := parseCFN(t, ddRoleFile)
	require.Equal(t, "v4.3.1", strings.TrimSpace(readShared(t, ddAnchor+"version.txt")))

	tests := []struct {
		name   string
		cfn    map[string]string
		preset map[string]any
		// Counts from SOURCE.txt, so a template read wrongly cannot pass by being empty.
		managed int
		actions int
	}{
		{"template defaults", map[string]string{"ExternalId": ddExternal}, map[string]any{"external_id": ddExternal}, 0, 104},
		{"resource collection", map[string]string{"ExternalId": ddExternal, "ResourceCollectionPermissions": "true"},
			map[string]any{"external_id": ddExternal, "resource_collection": "true"}, 4, 823},
		{"another role name", map[string]string{"ExternalId": "tenant-42", "IAMRoleName": "AcmeDatadog", "ResourceCollectionPermissions": "true"},
			map[string]any{"external_id": "tenant-42", "role_name": "AcmeDatadog", "resource_collection": true}, 4, 823},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := datadogFromTemplate(t, tpl, tt.cfn)
			got := renderPreset(t, "datadog", account, "", tt.preset)

			require.Len(t, got.Roles, 1)
			role, ok := got.Roles[want.roleName]
			require.True(t, ok, "role %s is created", want.roleName)
			require.Equal(t, want.path, role.Path)
			require.Nil(t, role.PermissionsBoundary)
			require.Equal(t, 3600, role.MaxSessionDuration)
			// The template writes Action as a one-element list, the component as a string:
			// the same statement to IAM, so the trust is compared in canonical form.
			require.Equal(t, normalizeDoc(t, want.trust), normalizeDoc(t, role.TrustPolicy), "trust: principal, action and external ID")
			require.Equal(t, want.inline, role.InlinePolicies, "inline policies: names, statements and action order exactly")
			require.Equal(t, want.attached, role.AttachedPolicies, "managed policy ARNs")

			require.Len(t, got.Policies, tt.managed)
			require.Len(t, want.policies, tt.managed)
			for name, doc := range want.policies {
				p, ok := got.Policies[name]
				require.True(t, ok, "policy %s is created", name)
				require.Equal(t, "/", p.Path)
				require.Equal(t, doc, p.Document, "policy %s: statements and action order exactly", name)
			}

			n := 0
			for _, doc := range append([]any{role.InlinePolicies["DatadogAWSIntegrationPolicy"]}, policyDocs(got)...) {
				for _, st := range iamstate.Statements(doc) {
					n += len(iamstate.Strings(st["Action"]))
				}
			}
			require.Equal(t, tt.actions, n, "action entries, as SOURCE.txt counts them")
		})
	}
}

func policyDocs(a *iamstate.Account) []any {
	var out []any
	for _, p := range a.Policies {
		out = append(out, p.Document)
	}
	return out
}

// The role template trusts DdAWSAccountId; the quickstart's main stack picks it per Datadog
// site and partition. datadog_site reproduces that table.
func TestDatadogSiteAccounts(t *testing.T) {
	main := parseCFN(t, ddAnchor+"main_v2.yaml")
	sites := main["Parameters"].(map[string]any)["DatadogSite"].(map[string]any)["AllowedValues"].([]any)
	require.Len(t, sites, 7)
	stackParams := main["Resources"].(map[string]any)["DatadogIntegrationRoleStack"].(map[string]any)["Properties"].(map[string]any)["Parameters"].(map[string]any)

	for _, partition := range []string{"aws", "aws-us-gov"} {
		for _, s := range sites {
			site := s.(string)
			t.Run(partition+"/"+site, func(t *testing.T) {
				e := newCFNEval(t, main, map[string]string{"DatadogSite": site}, map[string]string{"AWS::Partition": partition})
				acct := e.eval(stackParams["DdAWSAccountId"]).(string)
				got := renderPreset(t, "datadog", account, partition, map[string]any{"external_id": ddExternal, "datadog_site": site})
				principal := iamstate.Statements(got.Roles["DatadogIntegrationRole"].TrustPolicy)[0]["Principal"]
				require.Equal(t, map[string]any{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", partition, acct)}, principal)
			})
		}
	}
}

func TestDatadogParameterErrors(t *testing.T) {
	spec, err := vendors.Preset("datadog")
	require.NoError(t, err)
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"external ID is required", nil, `parameter "external_id": is required`},
		{"external ID charset", map[string]any{"external_id": "has space"}, `parameter "external_id": "has space": an external ID may contain only`},
		{"unknown site", map[string]any{"external_id": ddExternal, "datadog_site": "datadoghq.io"}, `parameter "datadog_site": "datadoghq.io" is not one of datadoghq.com`},
		{"account override is 12 digits", map[string]any{"external_id": ddExternal, "datadog_account_id": "4646"}, `parameter "datadog_account_id": "4646": an AWS account ID is exactly 12 digits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Render(spec, render.Options{AccountID: account, Params: tt.params})
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// `rollout vendors import --from-cfn` of the same template: every part translates, and the
// imported spec renders exactly as the preset for the same inputs.
func TestDatadogTemplateImportRendersAsThePreset(t *testing.T) {
	data := []byte(readShared(t, ddRoleFile))
	res, err := cfnimport.Import("datadog_integration_role.yaml", data, cfnimport.Options{Name: "datadog-imported", Vendor: "Datadog"})
	require.NoError(t, err)
	var issues []string
	for _, i := range res.Issues {
		issues = append(issues, i.String())
	}
	require.Empty(t, issues, "nothing is left untranslated")

	out, err := cfnimport.Marshal(res.Spec)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "datadog-imported.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	imported, err := vendors.LoadFile(path)
	require.NoError(t, err, "the imported spec loads:\n%s", out)

	for _, rc := range []string{"false", "true"} {
		t.Run("ResourceCollectionPermissions="+rc, func(t *testing.T) {
			a, err := render.Render(imported, render.Options{AccountID: account, Params: map[string]any{"ExternalId": ddExternal, "ResourceCollectionPermissions": rc}})
			require.NoError(t, err)
			require.Equal(t, renderPreset(t, "datadog", account, "", map[string]any{"external_id": ddExternal, "resource_collection": rc}), a)
		})
	}
}
