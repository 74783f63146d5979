package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
)

// realCLI is the Pulumi CLI the project pins (pulumicli.Version), or a skip.
func realCLI(t *testing.T) auto.PulumiCommand {
	t.Helper()
	cmd, err := pulumicli.Find()
	if err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	return cmd
}

// engineWorkspace is a workspace running program on backend (a fresh file backend when ""),
// with the environment the Runner gives its CLIs.
func engineWorkspace(t *testing.T, cmd auto.PulumiCommand, backend string, program pulumi.RunFunc) auto.Workspace {
	t.Helper()
	if backend == "" {
		backend = "file://" + t.TempDir()
	}
	ws, err := auto.NewLocalWorkspace(context.Background(), auto.Program(program), auto.Pulumi(cmd),
		auto.Project(workspace.Project{Name: tokens.PackageName("byoc-access"), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.SecretsProvider("passphrase"),
		auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":                          backend,
			"PULUMI_CONFIG_PASSPHRASE":                    "correct horse battery staple",
			"PULUMI_SKIP_UPDATE_CHECK":                    "true",
			"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
			"PULUMI_SKIP_CONFIRMATIONS":                   "true",
		}))
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(ws.WorkDir()) })
	return ws
}

func newStack(t *testing.T, ws auto.Workspace, name string) {
	t.Helper()
	_, err := auto.NewStack(context.Background(), name, ws)
	require.NoError(t, err)
}

// awsThrottled is how the AWS provider (pulumi-aws v6) reports a call AWS throttled after the
// SDK's retries.
const awsThrottled = "creating IAM Role (StubRole): operation error IAM: CreateRole, https response error StatusCode: 400, RequestID: 6c1b6e4e-0000-4000-8000-000000000000, api error Throttling: Rate exceeded"

// TestCLIMessagesFromTheRealCLI makes the pinned CLI print every message climessages.go matches,
// and checks the matcher and the classification still catch it. When a CLI upgrade rewords one
// of them, this fails, naming it.
func TestCLIMessagesFromTheRealCLI(t *testing.T) {
	cmd := realCLI(t)
	ctx := context.Background()

	t.Run("lock held", func(t *testing.T) {
		backend := "file://" + t.TempDir()
		started, release := make(chan struct{}), make(chan struct{})
		holder := engineWorkspace(t, cmd, backend, func(pctx *pulumi.Context) error {
			// The update holds the stack's lock while its program runs.
			close(started)
			<-release
			return nil
		})
		newStack(t, holder, "locked")
		done := make(chan error, 1)
		go func() {
			_, err := runEngine(ctx, holder, engineOp{Command: "up", Stack: "locked"})
			done <- err
		}()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("the holding update ended early: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("the holding update never ran its program")
		}
		second := engineWorkspace(t, cmd, backend, func(*pulumi.Context) error { return nil })
		_, err := runEngine(ctx, second, engineOp{Command: "up", Stack: "locked"})
		close(release)
		require.NoError(t, <-done)
		require.Error(t, err)
		require.True(t, isLockHeldMessage(err.Error()), "the CLI's lock message changed: %v", err)
		require.NotEmpty(t, lockHolder(err.Error()), "the CLI's lock holder line changed: %v", err)
		ae := classify(ctx, "111111111111", err)
		require.Equal(t, KindLockHeld, ae.Kind)
		require.Contains(t, ae.Reason, "(pid ")
		require.True(t, retryable(ae, true))
	})

	t.Run("service conflict", func(t *testing.T) {
		for _, message := range []string{
			"Conflict: Another update is currently in progress.", // Pulumi Cloud's words
			"Another update is currently in progress.",
		} {
			service := fakeService(t, message)
			ws := engineWorkspace(t, cmd, service, func(*pulumi.Context) error { return nil })
			_, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "org/byoc-access/busy"})
			require.Error(t, err)
			require.True(t, isLockHeldMessage(err.Error()), "the CLI's service error format changed: %v", err)
			ae := classify(ctx, "111111111111", err)
			require.Equal(t, KindLockHeld, ae.Kind, "%v", err)
			require.Contains(t, ae.Reason, "locked by another update")
		}
	})

	t.Run("no stack named", func(t *testing.T) {
		ws := engineWorkspace(t, cmd, "", func(*pulumi.Context) error { return nil })
		_, err := runEngine(ctx, ws, engineOp{Command: "destroy", Stack: "never-created", Remove: true})
		require.Error(t, err)
		require.True(t, isNoStack(err), "the CLI's missing-stack message changed: %v", err)
	})

	t.Run("plugin missing", func(t *testing.T) {
		ws := engineWorkspace(t, cmd, "", func(pctx *pulumi.Context) error {
			var r Flaky
			return pctx.RegisterResource("nosuchprovider:index:Thing", "thing", pulumi.Map{}, &r)
		})
		newStack(t, ws, "noplugin")
		_, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "noplugin"})
		var re *ResourceError
		require.ErrorAs(t, err, &re, "a missing plugin is reported on the provider resource")
		require.Contains(t, re.URN, "pulumi:providers:nosuchprovider")
		require.True(t, isPluginMissingMessage(re.Message), "the CLI's missing-plugin message changed: %q", re.Message)
		ae := classify(ctx, "111111111111", err)
		require.Equal(t, KindPluginMissing, ae.Kind)
		require.Contains(t, ae.Reason, "pulumi-resource-nosuchprovider")
	})

	t.Run("throttled by the provider", func(t *testing.T) {
		UseTestProvider(t)
		ws := engineWorkspace(t, cmd, "", func(pctx *pulumi.Context) error {
			_, err := NewFlaky(pctx, "role", awsThrottled)
			return err
		})
		newStack(t, ws, "throttled")
		_, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "throttled"})
		var re *ResourceError
		require.ErrorAs(t, err, &re)
		require.Contains(t, re.URN, "::"+FlakyType+"::role")
		require.True(t, isThrottlingMessage(re.Message), "the provider's message did not reach the event log as given: %q", re.Message)
		ae := classify(ctx, "111111111111", err)
		require.Equal(t, KindThrottled, ae.Kind)
		require.Contains(t, ae.Reason, "api error Throttling: Rate exceeded")
		require.True(t, retryable(ae, false))
	})
}

// TestProgramErrorsAreTyped: the program's own error comes from the language server that ran
// it, not from the CLI's text, so whatever its words it is a program error, and never retried.
func TestProgramErrorsAreTyped(t *testing.T) {
	cmd := realCLI(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		program pulumi.RunFunc
		reason  string
	}{
		{"mentions throttling", func(*pulumi.Context) error { return errors.New("VendorAccess vendor: lookup failed: " + awsThrottled) },
			"VendorAccess vendor: lookup failed: " + awsThrottled},
		{"mentions rate exceeded", func(*pulumi.Context) error { return errors.New("Rate exceeded") }, "Rate exceeded"},
		{"mentions a lock and a missing stack", func(*pulumi.Context) error {
			return errors.New("the stack is currently locked by a colleague; no stack named x; [409] Conflict")
		}, "the stack is currently locked by a colleague; no stack named x; [409] Conflict"},
		{"mentions a missing plugin", func(*pulumi.Context) error { return errors.New("no resource plugin 'x' found") }, "no resource plugin 'x' found"},
		{"panics", func(*pulumi.Context) error { panic("Throttling: Rate exceeded") },
			"go inline source runtime error, an unhandled panic occurred: Throttling: Rate exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := engineWorkspace(t, cmd, "", tt.program)
			newStack(t, ws, "prog")
			_, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "prog"})
			var pe *ProgramError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "prog", pe.Stack)
			ae := classify(ctx, "111111111111", err)
			require.Equal(t, KindProgram, ae.Kind)
			require.Equal(t, tt.reason, ae.Reason)
			require.True(t, IsProgramError(ae))
			require.False(t, IsThrottled(ae))
			require.False(t, IsLockHeld(ae))
			require.False(t, isNoStack(err))
			for _, waitLock := range []bool{false, true} {
				require.False(t, retryable(ae, waitLock), "a program error is not retried")
			}
		})
	}
}

// fakeService stands in for Pulumi Cloud as far as `pulumi up` v3.250.0 goes before it
// creates the update: the user, the stack, config encryption (nothing to encrypt), and the
// update, answered 409 with message as a busy stack is.
func fakeService(t *testing.T, message string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/user":
			fmt.Fprint(w, `{"githubLogin":"alice","name":"alice","organizations":[{"githubLogin":"org","name":"org"}]}`)
		case r.URL.Path == "/api/stacks/org/byoc-access/busy":
			fmt.Fprint(w, `{"orgName":"org","projectName":"byoc-access","stackName":"busy","tags":{},"version":1}`)
		case r.URL.Path == "/api/stacks/org/byoc-access/busy/update" && r.Method == http.MethodPost:
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"code":409,"message":%q}`, message)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":404,"message":"Not found"}`)
		}
	}))
	t.Cleanup(srv.Close)
	// The CLI keeps its login in PULUMI_HOME: a private one, with the token it needs.
	t.Setenv("PULUMI_HOME", t.TempDir())
	t.Setenv("PULUMI_ACCESS_TOKEN", "pul-fake-token")
	return srv.URL
}

// TestKilledCLIIsNotAProgramError: when the CLI dies under a running program (SIGKILL, as a
// lost runner or the OOM killer does it), the program's engine calls fail and it returns that
// error; the failure is the CLI's, not the program's.
func TestKilledCLIIsNotAProgramError(t *testing.T) {
	real := realCLI(t)
	// The single-process engine, and auto.Stack's path (a CLI outside the engine's range).
	for _, v := range []string{pulumicli.Version, "3.251.0"} {
		t.Run(v, func(t *testing.T) {
			var notice strings.Builder
			fallbackNotice = &notice
			t.Cleanup(func() { fallbackNotice = os.Stderr })
			cli := &versionedCLI{PulumiCommand: real, version: semver.MustParse(v)}
			started := make(chan struct{})
			var once sync.Once
			ws := engineWorkspace(t, cli, "", func(pctx *pulumi.Context) error {
				once.Do(func() { close(started) })
				for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					if err := pctx.Log.Debug("working", nil); err != nil {
						return fmt.Errorf("VendorAccess vendor: %w", err)
					}
				}
				return nil
			})
			newStack(t, ws, "killed-cli")
			done := make(chan error, 1)
			go func() {
				_, err := runEngine(context.Background(), ws, engineOp{Command: "up", Stack: "killed-cli"})
				done <- err
			}()
			select {
			case <-started:
			case err := <-done:
				t.Fatalf("the update ended before its program ran: %v", err)
			case <-time.After(60 * time.Second):
				t.Fatal("the program never ran")
			}
			require.NoError(t, syscall.Kill(requireUp(t, "killed-cli"), syscall.SIGKILL))
			err := <-done
			require.Error(t, err)
			var pe *ProgramError
			require.False(t, errors.As(err, &pe), "a killed CLI is not a program error: %v", err)
			ae := classify(context.Background(), "111111111111", err)
			// The single-process engine keeps the CLI's exit status, so classify already names
			// the signal. auto.Stack's error drops it: there classify sees an engine failure, and
			// the account's run names the signal from the child runner's record instead
			// (killedChild in account.go).
			if pulumicli.EngineSupported(semver.MustParse(v)) {
				require.Equal(t, KindInterrupted, ae.Kind)
				require.Contains(t, ae.Reason, "killed by SIGKILL")
			} else {
				require.Equal(t, KindEngine, ae.Kind)
				require.Contains(t, ae.Reason, "signal: killed")
			}
		})
	}
}

// requireUp finds the `pulumi up` process working on a stack.
func requireUp(t *testing.T, stack string) int {
	t.Helper()
	pid := testenv.CLIProcess("up", stack)
	require.NotZero(t, pid, "no pulumi up process for stack %s", stack)
	return pid
}
