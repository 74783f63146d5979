package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

const testPassphrase = "fleet-test-passphrase"

// writeAccounts writes an accounts file of these IDs and returns its path.
func writeAccounts(t *testing.T, ids ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "accounts.csv")
	lines := []string{"id,name,ou_path"}
	for i, id := range ids {
		lines = append(lines, id+",acct-"+string(rune('a'+i))+",Root/Workloads")
	}
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return p
}

// TestFleetFlagsAreCheckedFirst: every bad flag is a usage error (exit 2) that names it, and
// nothing reaches the backend.
func TestFleetFlagsAreCheckedFirst(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_BACKEND_URL", "")
	file := writeAccounts(t, "111111111111")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"output format", []string{"plan", "--vendor", "streamkap", "--accounts-file", file, "--output", "yaml"}, []string{`--output "yaml"`, "text or json"}},
		{"negative parallel", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--parallel", "-1"}, []string{"--parallel -1"}},
		{"negative timeout", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--timeout", "-1s"}, []string{"--timeout -1s"}},
		{"negative retries", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--retries", "-1"}, []string{"--retries -1"}},
		{"max failures", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--max-failures", "150%"}, []string{`--max-failures "150%"`}},
		{"account tag", []string{"plan", "--vendor", "streamkap", "--accounts-file", file, "--account-tag", "team"}, []string{`--account-tag "team"`, "key=value"}},
		{"session name", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--session-name", "x"}, []string{`--session-name "x"`}},
		{"stack prefix", []string{"up", "--vendor", "streamkap", "--accounts-file", file, "--stack-prefix", "a/b"}, []string{`--stack-prefix "a/b"`}},
		{"no vendor", []string{"plan", "--accounts-file", file}, []string{"--vendor or --spec is required"}},
		{"accounts file and management", []string{"status", "--accounts-file", file, "--include-management"}, []string{"--accounts-file and --include-management conflict"}},
		{"accounts file and OU ID", []string{"handoff", "--accounts-file", file, "--exclude-ou", "ou-ab12-34567890"}, []string{"--accounts-file and --ou/--exclude-ou"}},
		{"destroy needs --yes off a terminal", []string{"destroy", "--accounts-file", file}, []string{"pass --yes"}},
		{"handoff format", []string{"handoff", "--accounts-file", file, "--as", "pdf"}, []string{`--as "pdf"`}},
		{"handoff formats conflict", []string{"handoff", "--accounts-file", file, "--as", "markdown", "--output", "json"}, []string{"--output json and --as markdown conflict"}},
		{"accounts output", []string{"accounts", "--accounts-file", file, "--output", "xml"}, []string{`--output "xml"`}},
		{"stray argument", []string{"status", "--accounts-file", file, "123456789012"}, []string{"takes no arguments", `"123456789012"`, "--account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			args := append([]string{}, tt.args...)
			if tt.args[0] != "accounts" {
				args = append(args, "--backend", "file://"+state, "--run-dir", t.TempDir())
			}
			requireUsageError(t, state, tt.want, args...)
		})
	}
}

func TestAccountsFromFile(t *testing.T) {
	file := writeAccounts(t, "111111111111", "222222222222", "333333333333")
	out, errOut, code := runCLI(t, "accounts", "--accounts-file", file, "--exclude-account", "222222222222")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "111111111111")
	require.Contains(t, out, "Root/Workloads")
	require.Contains(t, out, "2 targets, 1 skipped")

	out, _, code = runCLI(t, "accounts", "--accounts-file", file, "--output", "json")
	require.Equal(t, exitOK, code)
	var res targets.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Len(t, res.Targets, 3)
}

// stubProgram stands in for the vendor program: the outputs handoff reads, no cloud plugin.
func stubProgram(ctx *pulumi.Context) error {
	acct := pconfig.New(ctx, "byoc-access").Require("accountId")
	ctx.Export("roleArns", pulumi.StringMap{"VendorRole": pulumi.String("arn:aws:iam::" + acct + ":role/VendorRole")})
	ctx.Export("externalId", pulumi.String("o-vendor"))
	return nil
}

// TestStateCommands deploys two stub stacks through the Go API, then reads them back with the
// CLI: status and handoff in every format, with exit 1 for an account not deployed yet; and
// destroy refusing early, before touching a stack, when the AWS plugin is missing.
func TestStateCommands(t *testing.T) {
	cmd, err := pulumicli.Find()
	if err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	backend := "file://" + t.TempDir()
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_BACKEND_URL", backend)
	deployed := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	r, err := rollout.New(rollout.Deployment{Program: stubProgram, StackConfig: func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:accountId": a.ID}, nil
	}}, rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(testPassphrase), rollout.Parallel(2))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), deployed)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)

	both := writeAccounts(t, "111111111111", "222222222222")
	withNew := writeAccounts(t, "111111111111", "222222222222", "333333333333")

	out, errOut, code := runCLI(t, "handoff", "--accounts-file", both, "--as", "json", "--run-dir", t.TempDir())
	require.Equal(t, exitOK, code, errOut)
	var hs []rollout.Handoff
	require.NoError(t, json.Unmarshal([]byte(out), &hs))
	require.Len(t, hs, 2)
	require.Equal(t, "arn:aws:iam::111111111111:role/VendorRole", hs[0].RoleArns["VendorRole"])
	require.Equal(t, "o-vendor", hs[0].ExternalID)
	require.Equal(t, "Root/Workloads", hs[0].OUPath)

	out, _, code = runCLI(t, "handoff", "--accounts-file", both, "--as", "markdown", "--run-dir", t.TempDir())
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "| 222222222222 | acct-b | VendorRole | arn:aws:iam::222222222222:role/VendorRole | o-vendor |")

	out, errOut, code = runCLI(t, "handoff", "--accounts-file", withNew, "--run-dir", t.TempDir())
	require.Equal(t, exitFailed, code, "an account without access yet fails the handoff")
	require.Contains(t, out, "arn:aws:iam::111111111111:role/VendorRole", "the deployed ones are still printed")
	require.Contains(t, errOut, "1 of 3 accounts have no deployed access yet")
	require.Contains(t, errOut, "333333333333")

	out, errOut, code = runCLI(t, "status", "--accounts-file", withNew, "--run-dir", t.TempDir())
	require.Equal(t, exitFailed, code, errOut)
	require.Contains(t, out, "succeeded")
	require.Contains(t, out, "the account was never deployed")

	runDir := t.TempDir()
	out, _, code = runCLI(t, "status", "--accounts-file", both, "--output", "json", "--run-dir", runDir)
	require.Equal(t, exitOK, code)
	var report rollout.Report
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	require.Equal(t, 2, report.Counts.Succeeded)
	require.Equal(t, "succeeded", report.Results[0].LastResult)
	require.FileExists(t, filepath.Join(runDir, "report.md"))

	if ok, _ := pulumicli.AWSPluginInstalled(); ok {
		t.Log("pulumi-resource-aws is installed: skipping the missing-plugin check")
		return
	}
	_, errOut, code = runCLI(t, "destroy", "--yes", "--accounts-file", both, "--remove-stacks", "--run-dir", t.TempDir())
	require.Equal(t, exitFailed, code, errOut)
	require.Contains(t, errOut, "pulumi-resource-aws v6.83.0")
	require.Contains(t, errOut, "pulumi plugin install resource aws v6.83.0")
	_, _, code = runCLI(t, "status", "--accounts-file", both, "--run-dir", t.TempDir())
	require.Equal(t, exitOK, code, "the stacks are untouched")
}
