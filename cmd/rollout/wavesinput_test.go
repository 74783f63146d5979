package main

import (
	"path/filepath"
	"testing"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestWaveInputIsCheckedFirst: every bad wave or rollback input exits 2 with a message that
// names the flag, file, line or field, before any stack is touched.
func TestWaveInputIsCheckedFirst(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs:      []string{"Workloads"},
		Accounts: []testenv.AccountSpec{{Name: "a", OU: "Workloads"}, {Name: "b", OU: "Workloads"}, {Name: "c", OU: "Workloads"}},
	})
	m.UseInEnv(t)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_BACKEND_URL", "")
	dir := t.TempDir()
	wavesFile := filepath.Join(dir, "waves.yaml")
	writeFile(t, wavesFile, "waves:\n  - select: \"1\"\n  - {select: rest, wait: later}\n")
	notARun := t.TempDir()
	up := []string{"up", "--vendor", "streamkap", "--ou", "Root/Workloads"}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad wave", args(up, []string{"--wave", "0"}), []string{`--wave: wave "0": want 1 or more accounts`}},
		{"unknown wave kind", args(up, []string{"--wave", "region:eu"}), []string{`unknown kind "region"`}},
		{"bad waves file names line and field", args(up, []string{"--waves-file", wavesFile}), []string{wavesFile + ":3: waves[1].wait", `"later"`}},
		{"both wave flags", args(up, []string{"--wave", "1", "--waves-file", wavesFile}), []string{"--wave and --waves-file are both set"}},
		{"bad on-gate-failure", args(up, []string{"--wave", "rest", "--on-gate-failure", "retry"}), []string{`--on-gate-failure "retry": use halt or rollback`}},
		{"gate without waves", args(up, []string{"--wave-gate", "true"}), []string{"--wave-gate applies to a rollout in waves"}},
		{"bad wave tolerance", args(up, []string{"--wave", "rest", "--wave-max-failures", "some"}), []string{`--wave-max-failures "some"`}},
		{"accounts in no wave", args(up, []string{"--wave", "1", "--wave", "1"}), []string{"1 target accounts are in no wave", "rest"}},
		{"a wave of an account not targeted", args(up, []string{"--wave", "accounts:999999999999", "--wave", "rest"}), []string{"account 999999999999 is not among the run's target accounts"}},
		{"rollback without --run", []string{"rollback"}, []string{"--run is required"}},
		{"rollback of a directory that is not a run", []string{"rollback", "--run", notARun}, []string{"--run " + notARun, "previous.json"}},
		{"rollback with a filter that cannot apply", []string{"rollback", "--run", notARun, "--ou", "Root/Workloads"}, []string{"--ou does not apply to rollback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			requireUsageError(t, state, tt.want, append(tt.args, "--backend", "file://"+state, "--run-dir", filepath.Join(t.TempDir(), "run"))...)
		})
	}
	_ = org
}
