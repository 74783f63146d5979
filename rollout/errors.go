package rollout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"syscall"

	"github.com/byoc-access/byoc-access/rollout/access"
)

// Kind is why an account failed, so reports and retries can branch on meaning.
type Kind string

// Failure kinds.
const (
	KindAssumeRole    Kind = "assume-role"
	KindLockHeld      Kind = "lock-held"
	KindProgram       Kind = "program"
	KindThrottled     Kind = "throttled"
	KindTimeout       Kind = "timeout"
	KindCancelled     Kind = "cancelled"
	KindInterrupted   Kind = "interrupted"
	KindPluginMissing Kind = "plugin-missing"
	KindConfig        Kind = "config"
	KindEngine        Kind = "engine"
	KindConflict      Kind = "conflict"
	KindGone          Kind = "account-gone"
	// KindRefused is an account an approved plan refused: nothing was changed in it.
	KindRefused Kind = "refused"
)

// AccountError is one account's failure, with its kind and the one line that explains it.
type AccountError struct {
	// AccountID is the account that failed.
	AccountID string
	// Kind is why, for branching; the Is* predicates test it.
	Kind Kind
	// Reason is the one line that explains it, never a stack trace or a secret.
	Reason string
	// Err is the underlying error.
	Err error
}

// Error is the account and the one-line reason, for logs and the error column.
func (e *AccountError) Error() string { return "account " + e.AccountID + ": " + e.Reason }

// Unwrap exposes the engine or SDK error, so auto's and access's predicates still apply.
func (e *AccountError) Unwrap() error { return e.Err }

func kindOf(err error) Kind {
	var ae *AccountError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return ""
}

// IsAssumeRoleDenied reports whether the account could not be entered with the execution role.
func IsAssumeRoleDenied(err error) bool { return kindOf(err) == KindAssumeRole }

// IsLockHeld reports whether another update holds the account's stack.
func IsLockHeld(err error) bool { return kindOf(err) == KindLockHeld }

// IsProgramError reports whether the Pulumi program (or the vendor input it validates) failed.
func IsProgramError(err error) bool { return kindOf(err) == KindProgram }

// IsThrottled reports whether AWS throttling outlasted the retries.
func IsThrottled(err error) bool { return kindOf(err) == KindThrottled }

// IsTimeout reports whether the account's operation ran past its timeout.
func IsTimeout(err error) bool { return kindOf(err) == KindTimeout }

// IsInterrupted reports whether a signal from outside the run (SIGKILL from an operator or
// the OOM killer) ended the account's Pulumi CLI while the run itself was not stopping it.
func IsInterrupted(err error) bool { return kindOf(err) == KindInterrupted }

// IsAccountGone reports whether the account left the organization or was suspended after
// discovery.
func IsAccountGone(err error) bool { return kindOf(err) == KindGone }

// IsConflict reports whether resources the program would create already exist in the account.
func IsConflict(err error) bool { return kindOf(err) == KindConflict }

// IsPluginMissing reports whether a Pulumi plugin the program needs is not installed.
func IsPluginMissing(err error) bool { return kindOf(err) == KindPluginMissing }

var (
	ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	// Lines the engine prints around the real error, which say nothing on their own.
	genericLines = []string{"update failed", "preview failed", "destroy failed", "refresh failed", "an unhandled error occurred", "failed to run update"}
)

// ProgramError is the inline program's own failure: the error its run function returned, or
// its panic, recorded by the language server that ran it (programServer, or the wrapper on the
// auto.Stack path). It is never read from the CLI's output, so a program whose message happens
// to mention throttling or a lock is still a program error, and is not retried.
type ProgramError struct {
	// Stack is the stack the program ran for.
	Stack string
	// Err is what the program returned (or its panic, as an error).
	Err error
	// Engine is the CLI's failure that followed, kept for its log.
	Engine error
}

func (e *ProgramError) Error() string { return "program failed: " + e.Err.Error() }

// Unwrap exposes both the program's error and the CLI's.
func (e *ProgramError) Unwrap() []error {
	if e.Engine == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Engine}
}

// ResourceError is a resource operation the engine reports as failed: an error diagnostic
// attached to a resource's URN in the engine's event log, with the provider's message.
type ResourceError struct {
	// Stack is the stack of the resource.
	Stack string
	// URN is the failed resource's URN.
	URN string
	// Message is the provider's (or engine's) message about it.
	Message string
	// Engine is the CLI's failure, kept for its log.
	Engine error
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("%s: %s", e.URN, strings.TrimSpace(e.Message))
}

func (e *ResourceError) Unwrap() error { return e.Engine }

// classify turns an operation's error into an AccountError with a kind and a reason line.
// Typed errors decide first; the CLI's text is read (through the matchers in climessages.go)
// only for what the CLI reports in no other way.
func classify(ctx context.Context, accountID string, err error) *AccountError {
	var ae *AccountError
	if errors.As(err, &ae) {
		return ae
	}
	out := &AccountError{AccountID: accountID, Err: err, Kind: KindEngine}
	var pe *ProgramError
	var re *ResourceError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		out.Kind, out.Reason = KindTimeout, "timed out: the operation ran past --timeout and was cancelled"
		return out
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		out.Kind, out.Reason = KindCancelled, "cancelled: the run was interrupted"
		return out
	case access.IsAssumeRoleError(err):
		out.Kind, out.Reason = KindAssumeRole, reasonLine(err.Error())
		return out
	}
	if sig, ok := signalOf(err); ok {
		// Before the program's and the resources' errors: a CLI killed under the program
		// makes its engine calls fail, and a lock it held is still there, and neither is
		// what happened. The run did not stop it (the context is live), so someone else did.
		command := ""
		var ee *engineError
		if errors.As(err, &ee) {
			command = ee.command
		}
		return interrupted(accountID, command, sig, err)
	}
	switch {
	case errors.As(err, &pe):
		// Before any text matching: the program's own words never make it throttled,
		// locked or anything else.
		out.Kind, out.Reason = KindProgram, reasonLine(pe.Err.Error())
		return out
	case errors.As(err, &re):
		out.Reason = reasonLine(re.Message)
		switch {
		case isPluginMissingMessage(re.Message):
			out.Kind = KindPluginMissing
		case isThrottlingMessage(re.Message):
			out.Kind = KindThrottled
		}
		return out
	}
	text := err.Error()
	out.Reason = reasonLine(text)
	switch {
	case lockHeld(err):
		holder := "another update"
		if h := lockHolder(text); h != "" {
			holder = h
		}
		out.Kind = KindLockHeld
		out.Reason = "the stack is locked by " + holder + "; pass --wait-lock to wait for it, or run `rollout unlock` if that run is gone"
	case isPluginMissingMessage(text):
		out.Kind = KindPluginMissing
	case isThrottlingMessage(text):
		// No program error and no failed resource: throttling of the CLI's own calls, such
		// as S3 answering SlowDown to a state backend's writes.
		out.Kind = KindThrottled
	}
	return out
}

// interrupted is the failure of an account whose CLI running command ("" when not known) a
// signal from outside the run ended.
func interrupted(accountID, command string, sig syscall.Signal, err error) *AccountError {
	cli := "Pulumi CLI"
	if command != "" {
		cli = "`pulumi " + command + "`"
	}
	return &AccountError{AccountID: accountID, Kind: KindInterrupted, Err: err,
		Reason: fmt.Sprintf("interrupted: the account's %s was killed by %s from outside this run", cli, signalName(sig))}
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// reasonLine picks the line of engine output that explains the failure: the first specific
// "error:" line, without colour codes or the engine's generic framing.
func reasonLine(text string) string {
	text = ansi.ReplaceAllString(text, "")
	var fallback string
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		// Go programs' errors come as "N error(s) occurred:" followed by "* message" lines.
		if strings.HasSuffix(line, "occurred:") {
			for _, next := range lines[i+1:] {
				if msg, ok := strings.CutPrefix(strings.TrimSpace(next), "* "); ok && msg != "" {
					return truncate(msg, 400)
				}
			}
		}
		idx := strings.Index(line, "error: ")
		if idx < 0 {
			continue
		}
		msg := strings.TrimSpace(line[idx+len("error: "):])
		if msg == "" {
			continue
		}
		if containsAny(strings.ToLower(msg), genericLines) {
			if fallback == "" {
				fallback = msg
			}
			continue
		}
		return truncate(msg, 400)
	}
	if fallback != "" {
		return truncate(fallback, 400)
	}
	first := strings.TrimSpace(strings.SplitN(text, "\n", 2)[0])
	return truncate(first, 400)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// retryable reports whether an account's failure may go away on its own.
func retryable(e *AccountError, waitLock bool) bool {
	switch e.Kind {
	case KindThrottled:
		return true
	case KindLockHeld:
		return waitLock
	}
	return false
}
