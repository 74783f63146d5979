package rollout

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

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
	KindPluginMissing Kind = "plugin-missing"
	KindConfig        Kind = "config"
	KindEngine        Kind = "engine"
	KindConflict      Kind = "conflict"
	KindGone          Kind = "account-gone"
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

// IsAccountGone reports whether the account left the organization or was suspended after
// discovery.
func IsAccountGone(err error) bool { return kindOf(err) == KindGone }

// IsConflict reports whether resources the program would create already exist in the account.
func IsConflict(err error) bool { return kindOf(err) == KindConflict }

// IsPluginMissing reports whether a Pulumi plugin the program needs is not installed.
func IsPluginMissing(err error) bool { return kindOf(err) == KindPluginMissing }

var (
	ansi          = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	throttleWords = []string{"Throttling", "ThrottlingException", "TooManyRequests", "Rate exceeded", "RequestLimitExceeded", "SlowDown"}
	// Lines the engine prints around the real error, which say nothing on their own.
	genericLines = []string{"update failed", "preview failed", "destroy failed", "refresh failed", "an unhandled error occurred", "failed to run update"}
)

func programFailed(err error) bool {
	var ee *engineError
	return errors.As(err, &ee) && ee.programFailed()
}

// classify turns an operation's error into an AccountError with a kind and a reason line.
func classify(ctx context.Context, accountID string, err error) *AccountError {
	var ae *AccountError
	if errors.As(err, &ae) {
		return ae
	}
	out := &AccountError{AccountID: accountID, Err: err, Kind: KindEngine}
	text := err.Error()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		out.Kind, out.Reason = KindTimeout, "timed out: the operation ran past --timeout and was cancelled"
		return out
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		out.Kind, out.Reason = KindCancelled, "cancelled: the run was interrupted"
		return out
	case access.IsAssumeRoleError(err):
		out.Kind = KindAssumeRole
	case auto.IsConcurrentUpdateError(err) || strings.Contains(text, "is currently locked") || strings.Contains(text, "[409] Conflict"):
		out.Kind = KindLockHeld
	case strings.Contains(text, "no resource plugin") || strings.Contains(text, "could not find plugin") || strings.Contains(text, "failed to load plugin") || strings.Contains(text, "could not load plugin"):
		out.Kind = KindPluginMissing
	case containsAny(text, throttleWords):
		out.Kind = KindThrottled
	case auto.IsRuntimeError(err) || auto.IsCompilationError(err) || programFailed(err) || strings.Contains(text, "program failed") || strings.Contains(text, "error: VendorAccess"):
		out.Kind = KindProgram
	}
	out.Reason = reasonLine(text)
	if out.Kind == KindLockHeld {
		holder := "another update"
		if h := lockHolder(text); h != "" {
			holder = h
		}
		out.Reason = "the stack is locked by " + holder + "; pass --wait-lock to wait for it, or run `rollout unlock` if that run is gone"
	}
	return out
}

var lockHolderLine = regexp.MustCompile(`created by (\S+@\S+ \(pid \d+\) at \S+)`)

// lockHolder finds who holds a stack lock in the CLI's error text.
func lockHolder(text string) string {
	if m := lockHolderLine.FindStringSubmatch(ansi.ReplaceAllString(text, "")); m != nil {
		return m[1]
	}
	return ""
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
