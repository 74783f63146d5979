package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// killedBy runs a process and ends it with sig, as an operator or the OOM killer ends a CLI.
func killedBy(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	c := exec.Command("sleep", "30")
	require.NoError(t, c.Start())
	require.NoError(t, c.Process.Signal(sig))
	err := c.Wait()
	require.Error(t, err)
	return err
}

// TestKilledCLIIsInterrupted: a CLI a signal ended while the run was not stopping it is
// interrupted, naming the signal, whatever else its failure carries: the program's engine
// calls failing under it, or the lock its dead process still holds. Once the run is stopping
// (its context is done), the same exit is the run's own cancel or timeout.
func TestKilledCLIIsInterrupted(t *testing.T) {
	sigkill, sigterm := killedBy(t, syscall.SIGKILL), killedBy(t, syscall.SIGTERM)
	engine := func(err error, stderr string) error {
		return &engineError{command: "up", stderr: stderr, code: -1, err: err}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		err        error
		wantKind   Kind
		wantReason string
	}{
		{"a killed update", context.Background(), engine(sigkill, ""), KindInterrupted, "the account's `pulumi up` was killed by SIGKILL"},
		{"another signal", context.Background(), engine(sigterm, ""), KindInterrupted, "killed by SIGTERM"},
		{"the program's engine calls failed under it", context.Background(),
			&ProgramError{Stack: "s", Err: errors.New("rpc error: code = Unavailable desc = error reading from server: EOF"), Engine: engine(sigkill, "")},
			KindInterrupted, "killed by SIGKILL"},
		{"its stderr names a lock", context.Background(), engine(sigkill, "error: the stack is currently locked by 1 lock(s)"), KindInterrupted, "killed by SIGKILL"},
		{"the run cancelled it", cancelled, engine(sigkill, ""), KindCancelled, "cancelled"},
		{"a CLI that exited", context.Background(), engine(exec.Command("false").Run(), "error: the stack is currently locked by 1 lock(s)"), KindLockHeld, "locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := classify(tt.ctx, "111111111111", tt.err)
			require.Equal(t, tt.wantKind, ae.Kind, ae.Reason)
			require.Contains(t, ae.Reason, tt.wantReason)
			if ae.Kind == KindInterrupted {
				require.False(t, retryable(ae, true), "a killed CLI is not run again at once")
			}
		})
	}
}

// TestOwnFailure: which failures on a shared provider are certainly the account's own (never
// run again on a provider of the CLI's own) and which may be the provider's. The event log
// lines have the shape of the v3.250.0 engine's error diagnostics.
func TestOwnFailure(t *testing.T) {
	const (
		role     = "urn:pulumi:s::byoc-access::byoc-access:index:VendorAccess$aws:iam/role:Role::r"
		provider = "urn:pulumi:s::byoc-access::pulumi:providers:aws::default_6_83_0"
	)
	diag := func(urn, message string) string {
		return `{"sequence":1,"timestamp":1,"diagnosticEvent":{"urn":"` + urn + `","message":"` + message + `","severity":"error"}}` + "\n"
	}
	exited := exec.Command("false").Run()
	tests := []struct {
		name       string
		err        error
		programErr error
		events     string
		own        bool
	}{
		{"AWS refused a resource", exited, nil, diag(role, "creating IAM Role (r): api error AccessDenied: not authorized"), true},
		{"a resource failed otherwise", exited, nil, diag(role, "creating IAM Role (r): EntityAlreadyExists"), true},
		{"the program's own check failed", exited, errors.New("vendor acme: roles[0]: bad"), "", true},
		{"a killed CLI", killedBy(t, syscall.SIGKILL), fmt.Errorf("read the account ID: %w", status.Error(codes.Unavailable, "error reading from server: EOF")), "", true},
		{"an invoke AWS refused", exited, fmt.Errorf("read the account ID: %w", status.Error(codes.Unknown, "invocation of aws:index/getCallerIdentity:getCallerIdentity returned an error: api error AccessDenied")), "", true},
		{"an invoke a provider that cannot be configured twice failed", exited,
			fmt.Errorf("read the account ID: %w", status.Error(codes.Unknown, "invocation of aws:index/getCallerIdentity:getCallerIdentity returned an error: configured once already")), "", false},
		{"an invoke the engine cancelled (no provider attached)", exited, fmt.Errorf("read the account ID: %w", status.Error(codes.Canceled, "context canceled")), "", false},
		{"another run's lock", &engineError{command: "up", stderr: "error: the stack is currently locked by 1 lock(s)", err: exited}, nil, "", true},
		{"the account's credentials, in the provider's configuration", exited, nil,
			diag(provider, "configure provider: api error AccessDenied: User is not authorized to perform: sts:AssumeRole"), true},
		{"a provider that cannot be configured twice", exited, nil, diag(provider, "configured once already"), false},
		{"a provider that cannot be attached to", &engineError{command: "up", stderr: "error: could not load plugin for aws provider", err: exited}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "events.jsonl")
			require.NoError(t, os.WriteFile(log, []byte(tt.events), 0o600))
			require.Equal(t, tt.own, ownFailure(tt.err, tt.programErr, log))
		})
	}
}
