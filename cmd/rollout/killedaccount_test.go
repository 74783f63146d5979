package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
)

// fleetLocks lists the stack locks in the fleet's backend.
func fleetLocks(t *testing.T, f *realFleet) []locks.Lock {
	t.Helper()
	st, err := locks.Open(context.Background(), f.backend, aws.Config{})
	require.NoError(t, err)
	all, err := locks.List(context.Background(), st)
	require.NoError(t, err)
	return all
}

// accountRun runs a fleet command on one account with a run directory of its own and returns
// the report, stderr, the exit code and the run directory.
func accountRun(t *testing.T, f *realFleet, id string, args ...string) (*rollout.Report, string, int, string) {
	t.Helper()
	runDir := t.TempDir()
	args = append(args, "--account", id, "--backend", f.backend, "--run-dir", runDir, "--output", "json")
	start := time.Now()
	out, errOut, code := runCLI(t, args...)
	t.Logf("rollout %s: exit %d in %s", args[0], code, time.Since(start).Round(100*time.Millisecond))
	var rep rollout.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout: %s\nstderr: %s", out, errOut)
	require.Len(t, rep.Results, 1, errOut)
	return &rep, errOut, code, runDir
}

// readAccountLog is an account's log in a run directory.
func readAccountLog(t *testing.T, runDir, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, id+".log"))
	require.NoError(t, err)
	return string(b)
}

// TestKilledCLIOfARunningRollout SIGKILLs one Pulumi CLI of a running rollout, in the middle
// of its account's update on the worker's shared provider (IAM has created a role the CLI
// never hears of). The CLI was the rollout's own child: the account is reported as
// interrupted by the signal (not as another run's lock, nor as a program error), it is not
// run again on another provider, its lock is gone, and the next `up` completes the account
// without `rollout unlock`.
func TestKilledCLIOfARunningRollout(t *testing.T) {
	f := newRealFleet(t, 1)
	id := f.ids[0]
	gate, endpoint := startIAMGate(t, f.m.Endpoint)
	t.Cleanup(gate.open)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	vendor := []string{"--vendor", "streamkap"}

	held := gate.arm("CreateRole", true)
	type outcome struct {
		rep            *rollout.Report
		errOut, runDir string
		code           int
	}
	done := make(chan outcome, 1)
	go func() {
		rep, errOut, code, runDir := accountRun(t, f, id, append([]string{"up"}, vendor...)...)
		done <- outcome{rep, errOut, runDir, code}
	}()
	select {
	case <-held:
	case <-time.After(4 * time.Minute):
		t.Fatal("the update never reached CreateRole")
	}
	pid := testenv.CLIProcess("up", id)
	require.NotZero(t, pid, "the account's CLI runs the update")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	out := <-done
	gate.open()
	res := out.rep.Results[0]
	t.Logf("the killed CLI's account: %s: %s", res.Kind, res.Error)
	require.Equal(t, exitFailed, out.code, out.errOut)
	require.Equal(t, rollout.KindInterrupted, res.Kind, "%+v", res)
	require.Contains(t, res.Error, "`pulumi up` was killed by SIGKILL")
	require.Contains(t, res.Error, "removed the stack lock")
	require.Equal(t, 1, res.Attempts)
	shared, err := filepath.Glob(filepath.Join(out.runDir, "provider-*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, shared, "the update ran on the worker's shared provider")
	require.False(t, strings.Contains(readAccountLog(t, out.runDir, id), "once more with a provider of its own"), "a killed CLI is not run again on another provider")
	require.Empty(t, fleetLocks(t, f), "the killed CLI's lock is gone")
	f.provider.RequireNoLeftovers(t, 30*time.Second)

	rep, errOut, code, _ := accountRun(t, f, id, append([]string{"up"}, vendor...)...)
	require.Equal(t, exitOK, code, "the next up needs no unlock:\n%s\n%+v", errOut, rep.Results[0])
	require.Contains(t, errOut, "exist in the account: importing them", "the role the killed update created is imported")
	outV, errOut, code := runCLI(t, append([]string{"verify", "--account", id}, vendor...)...)
	require.Equal(t, exitOK, code, "verify: %s\n%s", outV, errOut)
	f.provider.RequireNoLeftovers(t, 30*time.Second)
}

// TestPerAccountFailureRunsOnce: an account whose update AWS refuses (AccessDenied on
// CreateRole) on a fresh shared provider fails once: the failure is the account's own, so it
// is not run again on a provider of the CLI's own.
func TestPerAccountFailureRunsOnce(t *testing.T) {
	f := newRealFleet(t, 1)
	id := f.ids[0]
	proxy := testenv.StartFaultProxy(t, f.m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "CreateRole" {
			return &testenv.Fault{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform: iam:CreateRole"}
		}
		return nil
	})
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)

	rep, errOut, code, runDir := accountRun(t, f, id, "up", "--vendor", "streamkap")
	require.Equal(t, exitFailed, code, errOut)
	res := rep.Results[0]
	require.Equal(t, rollout.StatusFailed, res.Status)
	require.Contains(t, res.Error, "AccessDenied", "%+v", res)
	require.Equal(t, 1, res.Attempts)
	require.False(t, strings.Contains(readAccountLog(t, runDir, id), "once more with a provider of its own"), "the account's own failure is not run again on another provider")
	require.Equal(t, int64(1), proxy.Injected(), "the update asked IAM for the role once: it ran once")
	f.provider.RequireNoLeftovers(t, 30*time.Second)
}

// TestDestroyAfterAKilledUp kills the rollout while its update is creating the vendor's
// resources (IAM has carried out the held call; the CLI never hears of it), clears the lock
// the kill left, and offboards the account with `destroy --remove-stacks` and no `up` in
// between. Every role, policy and attachment of the vendor is gone, read with the SDK, and
// the stack is removed: destroy itself removes what the killed update created without state
// recording it, instead of failing on it or asking for an `up` that would grant it first.
func TestDestroyAfterAKilledUp(t *testing.T) {
	points := []struct {
		name, action, pending string
	}{
		// State knows the role and policies; IAM has an attachment it does not know, which
		// made the role's deletion fail with DeleteConflict.
		{"attaching", "AttachRolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"},
		// IAM has a role state does not know, which destroy used to refuse to go past.
		{"creating the role", "CreateRole", "aws:iam/role:Role"},
	}
	f := newRealFleet(t, len(points))
	gate, endpoint := startIAMGate(t, f.m.Endpoint)
	t.Cleanup(gate.open)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	bin := testenv.RolloutBinary(t)

	for i, p := range points {
		t.Run(p.name, func(t *testing.T) {
			id := f.ids[i]
			held := gate.arm(p.action, true)
			cmd := exec.Command(bin, "up", "--account", id, "--vendor", "streamkap", "--backend", f.backend,
				"--run-dir", t.TempDir(), "--output", "json")
			cmd.Env = os.Environ()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			select {
			case <-held:
			case <-time.After(4 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the update never reached %s: %s", p.action, stderr.String())
			}
			cli := testenv.CLIProcess("up", id)
			require.NotZero(t, cli, "the account's CLI runs the update")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			require.Eventually(t, func() bool { return !testenv.IsCLIProcess(cli, "up", id) }, 5*time.Second, 5*time.Millisecond,
				"the CLI ends with the rollout")
			gate.open()
			f.provider.RequireNoLeftovers(t, 30*time.Second)
			var pending []string
			for _, op := range pendingIn(t, f.stateDir, id) {
				if op.Type == apitype.OperationTypeCreating {
					pending = append(pending, string(op.Resource.Type))
				}
			}
			require.Contains(t, pending, p.pending, "the kill leaves IAM ahead of state")
			require.NotEmpty(t, f.vendorEntities(t, id), "the vendor has access before the offboarding")

			out, errOut, code := runCLI(t, "unlock", "--backend", f.backend, "--yes")
			require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
			rep, errOut, code, _ := accountRun(t, f, id, "destroy", "--remove-stacks", "--yes")
			require.Equal(t, exitOK, code, "%s\n%+v", errOut, rep.Results[0])
			require.Equal(t, rollout.StatusSucceeded, rep.Results[0].Status)
			for _, line := range strings.Split(errOut, "\n") {
				if strings.Contains(line, " repaired: ") {
					t.Logf("  %s", line)
				}
			}
			require.Contains(t, errOut, "repaired: a killed update of stack "+id)
			require.Empty(t, f.vendorEntities(t, id), "no role or policy of the vendor is left, and so no attachment")
			require.NotContains(t, f.stacks(t), id, "the stack is removed")
			f.provider.RequireNoLeftovers(t, 30*time.Second)
		})
	}
}
