// Command rollout grants a BYOC vendor its IAM access across the accounts of an AWS
// Organization, one Pulumi stack per member account; the work is package rollout's
// (rollout.VendorDeployment, rollout.New), and this command adds flags, output and exit codes.
// Its commands, listed in root.go: accounts shows what the target filters select; vendors,
// lint and render show, check and render a vendor spec; plan, up and drift preview, deploy and
// re-check every target account; status and handoff read what state holds; verify and
// snapshot compare with or print live IAM; sync keeps an organization onboarded on a schedule;
// destroy offboards; unlock clears stack locks that killed runs left. Exit codes: 0 when all
// succeeded; 1 when an account failed or drifted, lint found errors, the run was interrupted,
// or anything else went wrong; 2 for bad usage or input, found before any account is touched.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// version is the binary's version; release builds set it with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The first Ctrl-C cancels the context: scheduling stops, running operations are
	// cancelled cleanly and the summary is still written. A second one exits at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := newRootCmd().ExecuteContext(ctx)
	os.Exit(exitCode(err))
}

// Exit codes: 0 all succeeded, 1 some account failed (or drift found), 2 bad usage or input.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitUnknown = 1
)

// usageError marks errors in what the user typed or configured: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error; use it for every input that fails validation.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// asUsage wraps an input-validation error so it exits 2.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// failedError means the command ran but some accounts failed or drifted: exit code 1. Its
// details were already printed, so main prints only the one line.
type failedError struct{ msg string }

func (e failedError) Error() string { return e.msg }

// exitCode prints err for the user and returns the process exit code.
func exitCode(err error) int {
	code := codeOf(err)
	switch {
	case err == nil:
	case code == exitFailed && isFailed(err):
		fmt.Fprintln(os.Stderr, err)
	default:
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	return code
}

// codeOf maps an error to an exit code: usage errors 2, failed accounts 1. It reads types,
// never text.
func codeOf(err error) int {
	var ue usageError
	var noCLI *pulumicli.NotFoundError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &noCLI):
		// A missing or too old Pulumi CLI is the machine's, not the command line's, however
		// a command wrapped it.
		return exitUnknown
	case errors.As(err, &ue):
		return exitUsage
	case isFailed(err):
		return exitFailed
	default:
		return exitUnknown
	}
}

func isFailed(err error) bool {
	var fe failedError
	return errors.As(err, &fe)
}
