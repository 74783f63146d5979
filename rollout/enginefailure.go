// How a failed CLI run is read: whose failure it was, what signal killed it, whether a lock or a provider stopped it.

package rollout

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ownFailure says whether an engine command's failure is certainly the account's own, given
// the program's error and the engine's event log: a CLI killed under it, another run's lock,
// the program's own check (its spec, its parameters), or a call AWS refused. runShared never
// runs such a failure again on a provider of the CLI's own: it would fail the same way, or,
// for a killed CLI, meet the lock its dead process still holds.
func ownFailure(err, programErr error, eventLog string) bool {
	if killed(err) || lockHeld(err) {
		return true
	}
	if programErr != nil {
		// A program's error that came back from an engine call (an invoke the provider
		// answered, such as the account's identity) may be the provider's: one that cannot
		// take a second configuration, or cannot be attached to, fails there first.
		return !fromEngineCall(programErr) || isAccessDeniedMessage(programErr.Error())
	}
	// A failed resource is AWS refusing the account's own request, unless it is the
	// provider's configuration failing for another reason than the account's credentials:
	// a provider that cannot take a second configuration fails there.
	urn, msg := resourceFailure(eventLog)
	return urn != "" && (!isProviderURN(urn) || isAccessDeniedMessage(msg))
}

// fromEngineCall reports whether a program's error came back from a call to the engine (a
// gRPC status still in its chain) rather than from the program's own checks. A program that
// wraps errors without %w hides it, and is taken at its word.
func fromEngineCall(err error) bool {
	_, ok := engineCallCode(err)
	return ok
}

// engineCallCode is the gRPC status code of an engine call still in a program error's chain;
// false when there is none.
func engineCallCode(err error) (codes.Code, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.GRPCStatus().Code(), true
}

// killed reports whether a CLI process was ended by a signal (SIGKILL from a lost runner or
// the OOM killer; SIGINT and SIGKILL from a cancelled context) rather than exiting.
func killed(err error) bool {
	_, ok := signalOf(err)
	return ok
}

// signalOf is the signal that ended a CLI process, when one did.
func signalOf(err error) (syscall.Signal, bool) {
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.Exited() {
		return 0, false
	}
	ws, ok := xe.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

// signalName names a signal as operators know it ("SIGKILL"); Go's own names are prose
// ("killed").
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return fmt.Sprintf("signal %d (%s)", int(sig), sig)
}

// lockHeld reports whether a CLI failed because another update holds the stack.
func lockHeld(err error) bool {
	return auto.IsConcurrentUpdateError(err) || isLockHeldMessage(err.Error())
}

// isProviderURN reports whether a URN is a provider's own resource, whose failure (its
// configuration) may be the shared provider's rather than the account's.
func isProviderURN(urn string) bool {
	return strings.HasPrefix(string(resource.URN(urn).Type()), providerTypePrefix)
}
