package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderPrintsIAMState(t *testing.T) {
	out, _, code := runCLI(t, "render", "--vendor", "streamnative", "--account-id", "123456789012",
		"--param", "external_id=o-abcde", "--param", "create_bootstrap_role=false", "--tag", "team=data")
	require.Equal(t, 0, code)
	var state struct {
		AccountID string `json:"accountId"`
		Roles     map[string]struct {
			Path                string            `json:"path"`
			Description         string            `json:"description"`
			TrustPolicy         map[string]any    `json:"trustPolicy"`
			MaxSessionDuration  int               `json:"maxSessionDuration"`
			PermissionsBoundary *string           `json:"permissionsBoundary"`
			AttachedPolicies    []string          `json:"attachedPolicies"`
			InlinePolicies      map[string]any    `json:"inlinePolicies"`
			Tags                map[string]string `json:"tags"`
		} `json:"roles"`
		Policies map[string]struct {
			Path     string            `json:"path"`
			Document map[string]any    `json:"document"`
			Tags     map[string]string `json:"tags"`
		} `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &state))
	require.Equal(t, "123456789012", state.AccountID)
	require.Len(t, state.Roles, 1, "no bootstrap role")
	mgmt := state.Roles["StreamNativeCloudManagementRole"]
	require.Equal(t, "/StreamNative/", mgmt.Path)
	require.Equal(t, 43200, mgmt.MaxSessionDuration)
	require.Equal(t, "arn:aws:iam::123456789012:policy/StreamNative/StreamNativeCloudPermissionBoundary", *mgmt.PermissionsBoundary)
	require.Len(t, mgmt.AttachedPolicies, 2)
	require.NotNil(t, mgmt.InlinePolicies)
	require.Equal(t, "data", mgmt.Tags["team"])
	require.Equal(t, "2012-10-17", mgmt.TrustPolicy["Version"])
	require.Len(t, state.Policies, 4)
}

func TestRenderBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: byoc-access/v1\nvendor: [unclosed\n"), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no vendor", []string{"render", "--account-id", "123456789012"}, "--vendor or --spec is required"},
		{"unknown vendor", []string{"render", "--vendor", "confluent", "--account-id", "123456789012"}, `unknown vendor "confluent"`},
		{"both vendor and spec", []string{"render", "--vendor", "streamkap", "--spec", bad, "--account-id", "123456789012"}, "choose one"},
		{"no account", []string{"render", "--vendor", "streamkap"}, "--account-id is required"},
		{"bad account", []string{"render", "--vendor", "streamkap", "--account-id", "1234"}, "exactly 12 digits"},
		{"unknown param", []string{"render", "--vendor", "streamkap", "--account-id", "123456789012", "--param", "extrnal_id=x"}, `parameter "extrnal_id": unknown parameter`},
		{"bad param syntax", []string{"render", "--vendor", "streamkap", "--account-id", "123456789012", "--param", "external_id"}, "want key=value"},
		{"short external id", []string{"render", "--vendor", "streamnative", "--account-id", "123456789012", "--param", "external_id=o"}, "2 to 1224 characters"},
		{"malformed spec", []string{"render", "--spec", bad, "--account-id", "123456789012"}, "bad.yaml:2"},
		{"unknown flag", []string{"render", "--vendorr", "streamkap"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			require.Equal(t, exitUsage, code, "stderr: %s", errOut)
			require.Contains(t, errOut, tt.want)
			require.Empty(t, out)
		})
	}
}

func TestVendorsList(t *testing.T) {
	out, _, code := runCLI(t, "vendors", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "streamnative  StreamNative  3.25.0")
	require.Contains(t, out, "streamkap")
	out, _, code = runCLI(t, "vendors", "show", "streamnative")
	require.Equal(t, 0, code)
	require.Contains(t, out, "external_id")
	require.Contains(t, out, "StreamNativeCloudBootstrapRole")
}
