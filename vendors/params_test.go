package vendors_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
)

func TestParameters(t *testing.T) {
	spec, err := vendors.LoadFile("testdata/minimal.yaml")
	require.NoError(t, err)
	long := strings.Repeat("a", 1225)
	tests := []struct {
		name    string
		params  map[string]any
		wantErr []string
	}{
		{"ok", map[string]any{"external_id": "tenant-42"}, nil},
		{"missing required", map[string]any{}, []string{`parameter "external_id"`, "is required", "Your Acme tenant ID", "--param external_id="}},
		{"external id too short", map[string]any{"external_id": "a"}, []string{`"external_id"`, "2 to 1224 characters", "got 1"}},
		{"external id too long", map[string]any{"external_id": long}, []string{"2 to 1224 characters", "got 1225"}},
		{"external id charset", map[string]any{"external_id": "bad id!"}, []string{"may contain only letters, digits and +=,.@:/-_"}},
		{"unknown parameter", map[string]any{"external_id": "tenant-42", "externalid": "x"}, []string{`parameter "externalid"`, "unknown parameter", "external_id, role_name"}},
		{"role name over 64", map[string]any{"external_id": "tenant-42", "role_name": strings.Repeat("R", 65)}, []string{"roles[0]", "65 characters", "at most 64"}},
		{"role name charset", map[string]any{"external_id": "tenant-42", "role_name": "Acme Access"}, []string{"roles[0]", "may contain only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := spec.Resolve(target(), tt.params)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Len(t, g.Roles, 1)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParamCoercion(t *testing.T) {
	spec, err := vendors.Preset("streamnative")
	require.NoError(t, err)
	params, err := spec.ResolveParams(map[string]any{
		"create_bootstrap_role":   "false",
		"vpc_allowed_ids":         "vpc-1, vpc-2",
		"hosted_zone_allowed_ids": `["Z1"]`,
		"tags":                    "team=data,env=prod",
	})
	require.NoError(t, err)
	require.Equal(t, false, params["create_bootstrap_role"])
	require.Equal(t, []any{"vpc-1", "vpc-2"}, params["vpc_allowed_ids"])
	require.Equal(t, []any{"Z1"}, params["hosted_zone_allowed_ids"])
	require.Equal(t, map[string]any{"team": "data", "env": "prod"}, params["tags"])

	_, err = spec.ResolveParams(map[string]any{"create_bootstrap_role": "maybe"})
	require.ErrorContains(t, err, `"create_bootstrap_role": want true or false, got "maybe"`)
	_, err = spec.ResolveParams(map[string]any{"streamnative_vendor_access_role_arns": "not-an-arn"})
	require.ErrorContains(t, err, "is not an ARN")
}

// TestCheckParams: values that come per account later may be missing although required, but
// every value given is still checked, and a later name must be a parameter.
func TestCheckParams(t *testing.T) {
	spec, err := vendors.LoadFile("testdata/minimal.yaml")
	require.NoError(t, err)
	require.NoError(t, spec.CheckParams(map[string]any{}, []string{"external_id"}))
	err = spec.CheckParams(map[string]any{}, nil)
	require.ErrorContains(t, err, "is required")
	err = spec.CheckParams(map[string]any{"external_id": "bad id!"}, []string{"external_id"})
	require.ErrorContains(t, err, "may contain only")
	err = spec.CheckParams(map[string]any{"externalid": "x"}, []string{"external_id"})
	require.ErrorContains(t, err, "unknown parameter")
	err = spec.CheckParams(map[string]any{}, []string{"externalid"})
	require.ErrorContains(t, err, `parameter "externalid": unknown parameter`)
}
