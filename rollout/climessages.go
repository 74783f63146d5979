package rollout

import (
	"errors"
	"regexp"
	"strings"
)

// Every place the rollout reads a failure's kind from text is in this file. Program errors
// and failed resources are typed (ProgramError, ResourceError) and never matched here as a
// whole; what is left is what the Pulumi CLI reports only as a message: its exit codes do not
// tell these failures apart, and its event log either has nothing (the command stops before
// the engine starts) or the same text. Each matcher names the message and the CLI version it
// was taken from, and climessages_test.go makes the real CLI (pulumicli.Version) print each
// one and checks the matcher still catches it, so a CLI upgrade that rewords one fails there.

// lockHeldMessage is what `pulumi up|preview|destroy` prints when another update holds the
// stack, with file:// and s3:// backends (v3.250.0), followed by one line per lock:
//
//	error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.
//	  file:///state/.pulumi/locks/organization/byoc-access/1/x.json: created by alice@ci-7 (pid 4242) at 2026-01-02T03:04:05Z
const lockHeldMessage = "the stack is currently locked by"

// serviceConflictMessage is how the CLI prints Pulumi Cloud's 409 answer to an update of a
// stack another update holds. v3.250.0 prints a service error as "[CODE] MESSAGE" with the
// service's message, which is "Conflict: Another update is currently in progress.":
//
//	error: [409] Conflict: Another update is currently in progress.
//
// Only the "[409] " frame is the CLI's; the message is the service's, so the matcher reads the
// frame alone: for an engine operation a 409 means a conflicting update. (auto.
// IsConcurrentUpdateError reads the whole line, and only in the Automation API's own errors.)
// climessages_test.go drives the real CLI against a stand-in for the service.
const serviceConflictMessage = "[409] "

// isLockHeldMessage reports whether CLI output says another update holds the stack.
func isLockHeldMessage(text string) bool {
	return strings.Contains(text, lockHeldMessage) || strings.Contains(text, serviceConflictMessage)
}

// lockHolderLine is the per-lock line under lockHeldMessage (v3.250.0).
var lockHolderLine = regexp.MustCompile(`created by (\S+@\S+ \(pid \d+\) at \S+)`)

// lockHolder finds who holds a stack lock in the CLI's error text.
func lockHolder(text string) string {
	if m := lockHolderLine.FindStringSubmatch(ansi.ReplaceAllString(text, "")); m != nil {
		return m[1]
	}
	return ""
}

// noStackMessage is what a command naming a stack that is not in the backend prints (v3.250.0,
// exit code 6):
//
//	error: no stack named '111111111111' found
const noStackMessage = "no stack named"

// isNoStack reports whether an engine operation failed because its stack is not in the
// backend (removed since the run listed it, e.g. by an earlier attempt).
func isNoStack(err error) bool {
	var pe *ProgramError
	if err == nil || errors.As(err, &pe) {
		return false
	}
	return strings.Contains(err.Error(), noStackMessage)
}

// pluginMissingMessages are what the engine reports, as the failed provider resource's
// diagnostic, when a resource plugin the program needs is not installed and automatic plugin
// acquisition is off (v3.250.0):
//
//	no resource plugin 'pulumi-resource-aws' found in the workspace or on your $PATH
//
// The others are older and neighbouring wordings of the same failure ("could not load plugin
// for aws provider 'default_6_83_0': ...", "failed to load plugin ...", "could not find plugin
// ..."), kept because the engine wraps the first in them on some paths.
var pluginMissingMessages = []string{"no resource plugin", "could not find plugin", "failed to load plugin", "could not load plugin"}

func isPluginMissingMessage(text string) bool { return containsAny(text, pluginMissingMessages) }

// throttlingCodes are AWS's throttling error codes and messages, as the AWS provider (and the
// S3 state backend) pass them on inside their own messages, e.g. pulumi-aws v6:
//
//	creating IAM Role (x): operation error IAM: CreateRole, https response error StatusCode: 400, RequestID: ..., api error Throttling: Rate exceeded
//
// They are read only in a failed resource's message or in the CLI's own output, never in a
// program's error.
var throttlingCodes = []string{"Throttling", "ThrottlingException", "TooManyRequests", "Rate exceeded", "RequestLimitExceeded", "SlowDown"}

func isThrottlingMessage(text string) bool { return containsAny(text, throttlingCodes) }

// accessDeniedCodes are AWS's codes for a call refused for lack of permission or for bad
// credentials, as the AWS provider passes them on in its messages, e.g. a provider
// configuration whose assumed role the account refuses:
//
//	configure provider 'urn:...::pulumi:providers:aws::default_6_83_0': ... api error AccessDenied: User: ... is not authorized to perform: sts:AssumeRole on resource: ...
//
// They are read only in a failed resource's message, to tell an account's own refusal from a
// failure of the provider process that served it.
var accessDeniedCodes = []string{"AccessDenied", "not authorized to perform", "UnauthorizedOperation", "InvalidClientTokenId", "ExpiredToken"}

func isAccessDeniedMessage(text string) bool { return containsAny(text, accessDeniedCodes) }
