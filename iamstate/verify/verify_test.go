package verify_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/iamstate/verify"
	"github.com/byoc-access/byoc-access/vendors"
)

func rendered(t *testing.T, vendor string, params map[string]any) *iamstate.Account {
	t.Helper()
	spec, err := vendors.Preset(vendor)
	require.NoError(t, err)
	a, err := render.Render(spec, render.Options{AccountID: "123456789012", Params: params})
	require.NoError(t, err)
	return a
}

// clone deep-copies through JSON, as a snapshot would arrive.
func clone(t *testing.T, a *iamstate.Account) *iamstate.Account {
	t.Helper()
	b, err := json.Marshal(a)
	require.NoError(t, err)
	var out iamstate.Account
	require.NoError(t, json.Unmarshal(b, &out))
	return &out
}

func kinds(fs []verify.Finding) []verify.Kind {
	var out []verify.Kind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func stmt(doc any, i int) map[string]any {
	return doc.(map[string]any)["Statement"].([]any)[i].(map[string]any)
}

func TestCompare(t *testing.T) {
	const role, sn = "StreamkapInstallAccess", "StreamNativeCloudManagementRole"
	tests := []struct {
		name   string
		vendor string
		params map[string]any
		mutate func(a *iamstate.Account)
		want   []verify.Kind
		check  func(t *testing.T, fs []verify.Finding)
	}{
		{name: "identical", vendor: "streamkap", mutate: func(*iamstate.Account) {}},
		{name: "role missing", vendor: "streamkap", mutate: func(a *iamstate.Account) { delete(a.Roles, role) }, want: []verify.Kind{verify.RoleMissing}},
		{name: "policy missing", vendor: "streamkap", mutate: func(a *iamstate.Account) { delete(a.Policies, "StreamkapProvisionAccess") }, want: []verify.Kind{verify.PolicyMissing}},
		{
			name: "principal added", vendor: "streamkap",
			mutate: func(a *iamstate.Account) {
				stmt(a.Roles[role].TrustPolicy, 0)["Principal"] = map[string]any{"AWS": []any{"arn:aws:iam::300973880807:role/installer-delegation", "arn:aws:iam::999999999999:root"}}
			},
			want: []verify.Kind{verify.TrustPrincipalAdded},
			check: func(t *testing.T, fs []verify.Finding) {
				require.Equal(t, []string{"AWS:arn:aws:iam::999999999999:root"}, fs[0].Got)
			},
		},
		{
			name: "external ID condition removed", vendor: "streamkap", params: map[string]any{"external_id": "sk-tenant"},
			mutate: func(a *iamstate.Account) { delete(stmt(a.Roles[role].TrustPolicy, 0), "Condition") },
			want:   []verify.Kind{verify.TrustExternalIDMissing},
		},
		{
			name: "external ID changed", vendor: "streamkap", params: map[string]any{"external_id": "sk-tenant"},
			mutate: func(a *iamstate.Account) {
				stmt(a.Roles[role].TrustPolicy, 0)["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "other"}}
			},
			want: []verify.Kind{verify.TrustConditionChanged},
		},
		{
			name: "actions added and removed", vendor: "streamkap",
			mutate: func(a *iamstate.Account) {
				p := a.Policies["StreamkapProvisionAccess"]
				s := stmt(p.Document, 0)
				acts := s["Action"].([]any)
				s["Action"] = append(acts[1:], "s3:DeleteBucket")
			},
			want: []verify.Kind{verify.ActionsAdded, verify.ActionsRemoved},
			check: func(t *testing.T, fs []verify.Finding) {
				require.Equal(t, []string{"s3:DeleteBucket"}, fs[0].Got)
				require.Equal(t, []string{"ec2:DescribeAddressesAttribute"}, fs[1].Want)
				require.Equal(t, "policy/StreamkapProvisionAccess", fs[0].Resource)
			},
		},
		{
			name: "resource widened", vendor: "streamnative", params: map[string]any{"external_id": "o-abcde"},
			mutate: func(a *iamstate.Account) {
				stmt(a.Policies["StreamNativeCloudManagementPolicy"].Document, 1)["Resource"] = "*"
			},
			want: []verify.Kind{verify.StatementsChanged},
		},
		{
			name: "attachment missing and extra", vendor: "streamkap",
			mutate: func(a *iamstate.Account) {
				r := a.Roles[role]
				r.AttachedPolicies = []string{r.AttachedPolicies[0], "arn:aws:iam::aws:policy/AdministratorAccess"}
				a.Roles[role] = r
			},
			want: []verify.Kind{verify.AttachmentMissing, verify.AttachmentExtra},
		},
		{
			name: "boundary missing", vendor: "streamnative",
			mutate: func(a *iamstate.Account) {
				r := a.Roles[sn]
				r.PermissionsBoundary = nil
				a.Roles[sn] = r
			},
			want: []verify.Kind{verify.BoundaryMissing},
		},
		{
			name: "tags differ", vendor: "streamnative",
			mutate: func(a *iamstate.Account) {
				r := a.Roles[sn]
				r.Tags = map[string]string{"Vendor": "StreamNative", "SNVersion": "3.24.0", "owner": "x"}
				a.Roles[sn] = r
			},
			want: []verify.Kind{verify.TagsDiffer},
			check: func(t *testing.T, fs []verify.Finding) {
				require.Equal(t, []string{"SNVersion=3.25.0"}, fs[0].Want)
				require.Equal(t, []string{"SNVersion=3.24.0", "owner=x"}, fs[0].Got)
			},
		},
		{
			name: "single-element lists and strings are the same", vendor: "streamkap",
			mutate: func(a *iamstate.Account) {
				s := stmt(a.Roles[role].TrustPolicy, 0)
				s["Action"] = []any{"sts:AssumeRole"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := rendered(t, tt.vendor, tt.params)
			got := clone(t, want)
			tt.mutate(got)
			fs := verify.Compare(want, got)
			require.Equal(t, tt.want, kinds(fs), "%v", fs)
			if tt.check != nil {
				tt.check(t, fs)
			}
		})
	}
}
