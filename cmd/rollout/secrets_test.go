package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestSecretsNeverPrinted runs the commands a user runs, with real credentials, a passphrase
// and an execution-role external ID in the environment, and greps everything they wrote:
// stdout, stderr, the run directory (logs and reports) and the state backend.
func TestSecretsNeverPrinted(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs:      []string{"Workloads"},
		Accounts: []testenv.AccountSpec{{Name: "app-1", OU: "Workloads"}, {Name: "app-2", OU: "Workloads"}},
	})
	m.UseInEnv(t)
	const (
		passphrase   = "tr0ub4dor-and-3-more-words"
		executionExt = "exec-ext-s3cr3t-4242"
		sessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKENsecret"
	)
	t.Setenv("AWS_SESSION_TOKEN", sessionToken)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", passphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("BYOC_EXECUTION_EXTERNAL_ID", executionExt)
	state, runs := t.TempDir(), t.TempDir()
	t.Setenv("PULUMI_BACKEND_URL", "file://"+state)
	acct := org.Accounts["app-1"]

	var outputs []string
	run := func(args ...string) {
		out, errOut, _ := runCLI(t, args...)
		outputs = append(outputs, out, errOut)
	}
	run("accounts", "--ou", "Root/Workloads")
	run("render", "--vendor", "streamnative", "--account-id", acct, "--param", "external_id=o-abcde")
	run("verify", "--vendor", "streamkap", "--ou", "Root/Workloads")
	run("snapshot", "--vendor", "streamkap", "--account-id", acct)
	run("up", "--vendor", "streamkap", "--ou", "Root/Workloads", "--run-dir", filepath.Join(runs, "up"))
	run("plan", "--vendor", "streamkap", "--ou", "Root/Workloads", "--run-dir", filepath.Join(runs, "plan"), "--output", "json")
	run("status", "--ou", "Root/Workloads", "--run-dir", filepath.Join(runs, "status"))
	run("up", "--vendor", "streamkap", "--param", "external_id=x", "--ou", "Root/Workloads")
	run("unlock", "--backend", "file://"+state)
	require.NotEmpty(t, strings.Join(outputs, ""))

	testenv.AssertNoSecrets(t, outputs, []string{state, runs}, passphrase, executionExt, sessionToken, testenv.SecretAccessKey)
}
