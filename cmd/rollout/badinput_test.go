package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestBadInputCorpus runs rollout up with each kind of bad input: every one must exit 2 with a
// message that names the problem and the fix, and deploy nothing.
func TestBadInputCorpus(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs:      []string{"Workloads", "Empty"},
		Accounts: []testenv.AccountSpec{{Name: "app", OU: "Workloads"}},
	})
	m.UseInEnv(t)
	pass, err := filepath.Abs("testdata/badinput/passphrase")
	require.NoError(t, err)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", pass)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_BACKEND_URL", "")
	file := func(name string) string { return filepath.Join("testdata", "badinput", name) }

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"unknown vendor", []string{"--vendor", "confluent"}, nil, []string{`unknown vendor "confluent"`, "streamkap, streamnative"}},
		{"spec is not YAML", []string{"--spec", file("not-yaml.yaml")}, nil, []string{"not-yaml.yaml:", "YAML"}},
		{"spec fails the schema", []string{"--spec", file("schema-error.yaml")}, nil, []string{"schema-error.yaml:6:", "roles[0].maxSessionDuration", "minimum"}},
		{"duplicate role", []string{"--spec", file("duplicate-role.yaml")}, nil, []string{"duplicate-role.yaml:9:", `role "AcmeAccess" is declared twice`}},
		{"duplicate policy", []string{"--spec", file("duplicate-policy.yaml")}, nil, []string{"duplicate-policy.yaml:", `policy "AcmeRead" is declared twice`}},
		{"policy over the size quota", []string{"--spec", file("oversize-policy.yaml")}, nil, []string{"AcmeHuge", "a managed policy may have at most 6144", "split it"}},
		{"invalid external ID", []string{"--vendor", "streamnative", "--param", "external_id=o abc"}, nil, []string{`parameter "external_id"`, "may contain only"}},
		{"invalid account ID", []string{"--vendor", "streamkap", "--account", "1234"}, nil, []string{`"1234"`, "exactly 12 digits"}},
		{"invalid account in file", []string{"--vendor", "streamkap", "--accounts-file", file("bad-account.csv")}, nil, []string{"bad-account.csv: row 3", "exactly 12 digits"}},
		{"unknown OU", []string{"--vendor", "streamkap", "--ou", "Root/Nowhere"}, nil, []string{`unknown OU "Root/Nowhere"`, "Root/Workloads"}},
		{"empty target set", []string{"--vendor", "streamkap", "--ou", "Root/Empty"}, nil, []string{"no target accounts", "rollout accounts"}},
		{"missing passphrase", []string{"--vendor", "streamkap"}, map[string]string{"PULUMI_CONFIG_PASSPHRASE_FILE": ""}, []string{"no secrets passphrase", "PULUMI_CONFIG_PASSPHRASE_FILE"}},
		{"backend cannot be opened", []string{"--vendor", "streamkap", "--backend", "ftp://state.example.com/x"}, nil, []string{`--backend "ftp://state.example.com/x"`, "file://DIR"}},
		{"backend directory cannot be created", []string{"--vendor", "streamkap", "--backend", "file:///proc/byoc-state"}, nil, []string{"cannot create the state directory"}},
		{"conflicting vendor flags", []string{"--vendor", "streamkap", "--spec", file("schema-error.yaml")}, nil, []string{"--vendor and --spec are both set"}},
		{"conflicting target flags", []string{"--vendor", "streamkap", "--accounts-file", file("bad-account.csv"), "--ou", "ou-abcd-12345678"}, nil, []string{"--accounts-file and --ou", "conflict"}},
		{"bad max failures", []string{"--vendor", "streamkap", "--max-failures", "lots"}, nil, []string{`--max-failures "lots"`}},
		{"bad shard", []string{"--vendor", "streamkap", "--shard", "3/2"}, nil, []string{`--shard "3/2"`}},
		{"bad execution role", []string{"--vendor", "streamkap", "--execution-role", "arn:aws:iam::111122223333:role/Fixed"}, nil, []string{"must contain {account}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			state := t.TempDir()
			args := append([]string{"up", "--run-dir", t.TempDir()}, tt.args...)
			if !containsArg(tt.args, "--backend") {
				args = append(args, "--backend", "file://"+state)
			}
			requireUsageError(t, state, tt.want, args...)
		})
	}

	// Nothing reached AWS either: moto's IAM has no vendor role or policy.
	roles, err := iam.NewFromConfig(m.AWSConfig(t)).ListRoles(context.Background(), &iam.ListRolesInput{})
	require.NoError(t, err)
	for _, r := range roles.Roles {
		require.NotContains(t, *r.RoleName, "Streamkap")
	}
}

func containsArg(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}
