package rollout

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// TestAppliedDeploymentDeploysTheRecordedSpec: a record is deployed again with its own spec and
// values, the preset by name while this binary's preset is the same, else the recorded spec
// from a file, whatever the preset or the spec file says now.
func TestAppliedDeploymentDeploysTheRecordedSpec(t *testing.T) {
	preset, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	same, err := json.Marshal(preset)
	require.NoError(t, err)
	// An older version of the preset: one role name differs.
	older := []byte(strings.Replace(string(same), "StreamkapInstallAccess", "StreamkapInstallAccessV1", 1))
	require.NotEqual(t, string(same), string(older))
	acct := targets.Account{ID: "111122223333"}

	cases := []struct {
		name       string
		spec       []byte
		wantVendor bool
		wantRole   string
	}{
		{name: "unchanged preset: by name", spec: same, wantVendor: true, wantRole: "StreamkapInstallAccess"},
		{name: "the preset changed since: the recorded spec, from a file", spec: older, wantRole: "StreamkapInstallAccessV1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ap := &Applied{Program: "v0", Vendor: "streamkap", Spec: tc.spec, Params: map[string]any{"external_id": "sk-tenant-7"}, Region: "us-east-1"}
			dir := t.TempDir()
			dep, err := AppliedDeployment(ap, []targets.Account{acct}, map[string]map[string]any{acct.ID: ap.Params}, dir, "v1")
			require.NoError(t, err)
			cfg, err := dep.StackConfig(acct)
			require.NoError(t, err)
			require.Contains(t, cfg["byoc-access:params"], "sk-tenant-7")
			if tc.wantVendor {
				require.Equal(t, "streamkap", cfg["byoc-access:vendor"])
				require.Empty(t, cfg["byoc-access:specFile"])
				return
			}
			require.Empty(t, cfg["byoc-access:vendor"])
			file := cfg["byoc-access:specFile"]
			require.True(t, strings.HasPrefix(file, dir), file)
			loaded, err := vendors.LoadFile(file)
			require.NoError(t, err)
			b, err := json.Marshal(loaded)
			require.NoError(t, err)
			require.JSONEq(t, string(tc.spec), string(b))
			require.Contains(t, string(b), tc.wantRole)
		})
	}
}
