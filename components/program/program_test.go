package program_test

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/components/program"
	"github.com/byoc-access/byoc-access/iamstate/render"
)

// run runs the program with stack config as the engine passes it (PULUMI_CONFIG).
func run(t *testing.T, cfg map[string]string) (*render.Mocks, error) {
	t.Helper()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	t.Setenv("PULUMI_CONFIG", string(b))
	m := render.NewMocks("123456789012", "aws", "us-east-1")
	err = pulumi.RunErr(program.Run, pulumi.WithMocks(program.Project, "dev", m))
	return m, err
}

func TestProgramFromStackConfig(t *testing.T) {
	cfg, err := program.Config{
		Vendor: "streamkap", AccountID: "123456789012", Region: "us-east-1",
		Params: map[string]any{"external_id": "sk-tenant"}, Tags: map[string]string{"team": "data"},
	}.StackConfig()
	require.NoError(t, err)
	cfg["byoc-access:adopt"] = `["role/StreamkapInstallAccess"]`
	m, err := run(t, cfg)
	require.NoError(t, err)
	roles := m.ByType("aws:iam/role:Role")
	require.Len(t, roles, 1)
	require.Equal(t, "StreamkapInstallAccess", roles[0].ImportID, "adopted resources are imported")
	require.Equal(t, map[string]any{"team": "data"}, roles[0].Inputs["tags"])
	for _, p := range m.ByType("aws:iam/policy:Policy") {
		require.Empty(t, p.ImportID)
	}
}

func TestProgramConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"no vendor", map[string]string{}, "byoc-access:vendor is not set"},
		{"unknown vendor", map[string]string{"byoc-access:vendor": "nope"}, `unknown vendor "nope"`},
		{"params not an object", map[string]string{"byoc-access:vendor": "streamkap", "byoc-access:params": "[1,2"}, "byoc-access:params"},
		{"bad parameter", map[string]string{"byoc-access:vendor": "streamkap", "byoc-access:params": `{"external_id":"x"}`}, "2 to 1224"},
		{"bad parameter names the key", map[string]string{"byoc-access:vendor": "streamkap", "byoc-access:params": `{"external_id":"x"}`}, "config byoc-access:params: "},
		{"missing required parameter", map[string]string{"byoc-access:vendor": "datadog"}, `config byoc-access:params: vendor datadog: parameter "external_id"`},
		{"bad account ID", map[string]string{"byoc-access:vendor": "streamkap", "byoc-access:accountId": "12345"}, "config byoc-access:accountId: account ID \"12345\""},
		{"bad tag", map[string]string{"byoc-access:vendor": "streamkap", "byoc-access:tags": `{"aws:owner":"x"}`}, "config byoc-access:tags: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := run(t, tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, m.ByType("aws:iam/role:Role"))
		})
	}
}
