package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
)

// TestKilledRolloutLeavesNoProvider SIGKILLs the rollout itself (a lost CI runner) while its
// worker's shared AWS provider is in the middle of an account's update (IAM has created a role
// the CLI has not heard of yet): the account's CLI, the provider and the processes it started
// all end with the rollout, and the next run (unlock, then up, which imports what the killed
// update left pending) gets the account to the spec.
func TestKilledRolloutLeavesNoProvider(t *testing.T) {
	if _, err := pulumicli.Find(); err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{OUs: []string{"Workloads"},
		Accounts: []testenv.AccountSpec{{Name: "killed", OU: "Workloads"}}})
	id := org.Accounts["killed"]
	gate, endpoint := startIAMGate(t, m.Endpoint)
	t.Cleanup(gate.open)
	m.UseInEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	provider := testenv.UseAWSProvider(t)
	stateDir := t.TempDir()
	backend := "file://" + stateDir

	bin := testenv.RolloutBinary(t)

	held := gate.arm("CreateRole", true)
	runDir := t.TempDir()
	cmd := exec.Command(bin, "up", "--account", id, "--vendor", "streamkap", "--backend", backend, "--run-dir", runDir, "--output", "json")
	cmd.Env = os.Environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	select {
	case <-held:
	case <-time.After(4 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the update never reached CreateRole: %s", stderr.String())
	}
	shared, err := filepath.Glob(filepath.Join(runDir, "provider-*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, shared, "the update runs on the worker's shared provider")
	cli := testenv.CLIProcess("up", id)
	require.NotZero(t, cli, "the account's CLI runs the update")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	// The CLI ends with the rollout, while its create is still held: killed before it could
	// see the provider go, it leaves the create pending in state, where the next run finds it.
	require.Eventually(t, func() bool { return !testenv.IsCLIProcess(cli, "up", id) }, 5*time.Second, 5*time.Millisecond,
		"the CLI outlived the rollout and its shared provider")
	var pending []string
	for _, op := range pendingIn(t, stateDir, id) {
		pending = append(pending, string(op.Type)+" "+string(op.Resource.Type))
	}
	require.Contains(t, pending, "creating aws:iam/role:Role",
		"the role IAM created is a pending create in state, not forgotten by a CLI that saw its provider fail")
	gate.open()
	provider.RequireNoLeftovers(t, 30*time.Second)

	// The next runs: the lock the killed CLI may have left, then the update. Whatever lock is
	// left is the killed CLI's, which `unlock` must take for gone however far its exit has got.
	st, err := locks.Open(context.Background(), backend, aws.Config{})
	require.NoError(t, err)
	left, err := locks.List(context.Background(), st)
	require.NoError(t, err)
	for _, l := range left {
		require.Equal(t, cli, l.Pid, "the only lock left is the killed CLI's: %+v", l)
		stale, why := l.Stale(0)
		require.True(t, stale, "the killed CLI's lock is stale: %s (%s)", why, procState(l.Pid))
	}
	unlockOut, errOut, code := runCLI(t, "unlock", "--backend", backend, "--yes")
	require.Equal(t, exitOK, code, errOut)
	t.Logf("rollout unlock --yes: %s%s", unlockOut, errOut)
	out2, errOut, code := runCLI(t, "up", "--account", id, "--vendor", "streamkap", "--backend", backend, "--run-dir", t.TempDir(), "--output", "json")
	require.Equal(t, exitOK, code, "%s\n%s", out2, errOut)
	var rep rollout.Report
	require.NoError(t, json.Unmarshal([]byte(out2), &rep), out2)
	require.Len(t, rep.Results, 1)
	require.Equal(t, rollout.StatusSucceeded, rep.Results[0].Status, "%+v", rep.Results[0])
	out3, errOut, code := runCLI(t, "verify", "--account", id, "--vendor", "streamkap", "--output", "json")
	require.Equal(t, exitOK, code, "verify: %s\n%s", out3, errOut)
	provider.RequireNoLeftovers(t, 30*time.Second)
}

// procState is what /proc says of a pid, for a failure's message.
func procState(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "no /proc entry: " + err.Error()
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return fmt.Sprintf("stat %q, cmdline %q", stat, strings.ReplaceAll(string(cmdline), "\x00", " "))
}
