package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// The fleet's hot paths (up and preview of an account's stack) run as one CLI process each.
// auto.Stack needs a `stack select` process before anything, and auto.Stack.Up follows the
// update with three more (`stack output` twice, `stack history` once) to build its result.
// On 2 cores those processes are most of a first rollout's cost. Everything the rollout needs
// from them is in the engine's own event log: the change summary and the stack's outputs.
//
// That speed rests on CLI behaviour that is not public: the hidden flags the Automation API
// passes (--client, --exec-kind, --event-log), this file's copy of its language server, and the
// event log's shape. So it is used only with CLIs in pulumicli.EngineVersions, the range
// contract_test.go has checked; any other CLI gets the same operations through auto.Stack
// (engine_auto.go). Failures come back typed where the CLI allows: the program's own error as
// the language server recorded it (ProgramError), a failed resource as the event log reports it
// (ResourceError); the rest is the CLI's text, read only through climessages.go.

// engineOp is one engine operation on a named stack.
type engineOp struct {
	// Command is "up", "preview" or "destroy".
	Command string
	// Stack is the stack's name; it must exist in the backend.
	Stack string
	// Refresh reads the cloud before the operation.
	Refresh bool
	// SameConfig says that the stack's state holds the provider configuration this operation
	// sets: the provider its refresh configures from state and the one its preview configures
	// from the stack's config are configured alike, so one process may serve both.
	SameConfig bool
	// Remove deletes the stack from the backend once a destroy has deleted its resources.
	Remove bool
	// Log, when set, receives the CLI's progress output and errors (the account's log file).
	Log *os.File

	// eventLog, when set, is where the engine writes its event log, kept afterwards (the
	// contract tests read it); by default a temporary file.
	eventLog string
}

// engineResult is what the rollout keeps of an operation.
type engineResult struct {
	// Changes counts the resources by operation ("create", "same", ...).
	Changes map[string]int
	// Outputs are the stack's outputs after an update (nil for a preview). Secret outputs are
	// marked and hold no value.
	Outputs auto.OutputMap
	// Steps are the resource steps the engine planned, in the event log's order.
	Steps []Step
}

// engineError is a failed CLI process. Its text has the shape of the Automation API's own
// errors (the reason, then the exit code, stdout and stderr) so that classify reads both alike.
type engineError struct {
	command        string
	stdout, stderr string
	code           int
	err            error
}

func (e *engineError) Error() string {
	return fmt.Sprintf("failed to run %s: %s\ncode: %d\nstdout: %s\nstderr: %s\n", e.command, e.err, e.code, e.stdout, e.stderr)
}

func (e *engineError) Unwrap() error { return e.err }

// runEngine runs op for the workspace's inline program in a single CLI process, or through
// auto.Stack when the CLI is outside pulumicli.EngineVersions. A failure is a *ProgramError when
// the program itself failed, a *ResourceError when the engine reported a resource's failure,
// else the CLI's error.
func runEngine(ctx context.Context, ws auto.Workspace, op engineOp) (*engineResult, error) {
	if op.Command != "up" && op.Command != "preview" && op.Command != "destroy" {
		return nil, fmt.Errorf("engine: unsupported command %q", op.Command)
	}
	program := ws.Program()
	if program == nil {
		return nil, errors.New("engine: the workspace has no inline program")
	}
	if v := ws.PulumiCommand().Version(); !pulumicli.EngineSupported(v) {
		noteFallback(v)
		return runAuto(ctx, ws, op)
	}
	server, err := serveProgram(program)
	if err != nil {
		return nil, fmt.Errorf("engine: start the program's language server: %w", err)
	}
	defer server.Close()

	eventLog := op.eventLog
	if eventLog == "" {
		logDir, err := os.MkdirTemp("", "byoc-events-")
		if err != nil {
			return nil, fmt.Errorf("engine: event log: %w", err)
		}
		defer os.RemoveAll(logDir)
		eventLog = filepath.Join(logDir, "events.jsonl")
	}

	args := []string{op.Command}
	if op.Command != "preview" {
		args = append(args, "--yes", "--skip-preview")
	}
	if op.Remove && op.Command == "destroy" {
		// The event log still has the destroy's summary, so the removal needs no process
		// of its own.
		args = append(args, "--remove")
	}
	if op.Refresh {
		args = append(args, "--refresh")
	}
	args = append(args, "--client="+server.address, "--exec-kind=auto.inline", "--event-log", eventLog,
		"--non-interactive", "--stack", op.Stack)

	var progress []io.Writer
	if op.Log != nil {
		progress = []io.Writer{op.Log}
	}
	own := func(err error) bool { return ownFailure(err, server.programError(), eventLog) }
	if _, err := runShared(ctx, ws, op, progress, args, own); err != nil {
		// A CLI killed by a signal took the engine with it, and the program's error is then
		// only that its engine calls failed: not the program's failure.
		if perr := server.programError(); perr != nil && !killed(err) {
			return nil, &ProgramError{Stack: op.Stack, Err: perr, Engine: err}
		}
		if urn, msg := resourceFailure(eventLog); urn != "" {
			return nil, &ResourceError{Stack: op.Stack, URN: urn, Message: msg, Engine: err}
		}
		return nil, err
	}
	res, err := readEventLog(eventLog, op.Command == "up")
	if err != nil {
		return nil, fmt.Errorf("engine: %s succeeded but its event log could not be read: %w", op.Command, err)
	}
	return res, nil
}

// runShared runs an engine command attached to the account's shared AWS provider, when it
// has one (providers.go); else the CLI starts its own. An operation that refreshes first
// configures two providers, one from the state's provider configuration and one from the
// stack's, and both would be the same process: it shares only when the two are the same.
// ownFailure says whether a failure is certainly the account's own (a killed CLI, a lock,
// the program's own check, a call AWS refused), which no other provider could change.
func runShared(ctx context.Context, ws auto.Workspace, op engineOp, progress []io.Writer, args []string, ownFailure func(error) bool) (string, error) {
	provider := providerFrom(ctx)
	if !provider.shared() || (op.Refresh && !op.SameConfig) {
		return runCLI(ctx, ws, progress, args...)
	}
	reused := provider.served > 0
	port, err := provider.attach(ctx)
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	out, err := runCLIEnv(ctx, ws, progress, []string{fmt.Sprintf("PULUMI_DEBUG_PROVIDERS=aws:%d", port)}, args...)
	if err == nil {
		provider.served++
		provider.pool.proven.Store(true)
		return out, nil
	}
	// A provider whose operation failed, timed out or was cancelled is not trusted with the
	// next account.
	provider.stop()
	if ctx.Err() != nil || (!reused && provider.pool.proven.Load()) || ownFailure(err) {
		return out, err
	}
	// Either it had served another account before, or no shared provider has served any
	// account yet. Once more with a provider of the CLI's own: if that succeeds, the provider
	// could not serve a second account (a configuration it cannot take twice) or could not be
	// attached to at all, and no provider is shared for the rest of the run.
	if op.Log != nil {
		fmt.Fprintf(op.Log, "\nbyoc-access: %s failed on the worker's shared AWS provider; once more with a provider of its own\n", op.Command)
	}
	out, ferr := runCLI(ctx, ws, progress, args...)
	if ferr == nil {
		provider.pool.off.Store(true)
	}
	return out, ferr
}

// runCLI runs one CLI command in the workspace, with its environment, and returns stdout.
func runCLI(ctx context.Context, ws auto.Workspace, progress []io.Writer, args ...string) (string, error) {
	return runCLIEnv(ctx, ws, progress, nil, args...)
}

// runCLIEnv is runCLI with extra environment for this command only.
func runCLIEnv(ctx context.Context, ws auto.Workspace, progress []io.Writer, extra []string, args ...string) (string, error) {
	env := append([]string{"PULUMI_DEBUG_COMMANDS=true"}, extra...)
	if home := ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	stdout, stderr, code, err := ws.PulumiCommand().Run(ctx, ws.WorkDir(), nil, progress, progress, env, args...)
	if err != nil {
		command := args[0]
		if command == "stack" && len(args) > 1 {
			command += " " + args[1]
		}
		return stdout, &engineError{command: command, stdout: stdout, stderr: stderr, code: code, err: err}
	}
	return stdout, nil
}

// lastUpdate reads a stack's newest update and its outputs in two CLI processes, where
// auto.Stack needs four (select, history, and outputs twice). Secret outputs are read
// masked: the rollout never needs their values.
func lastUpdate(ctx context.Context, ws auto.Workspace, stack string) (*auto.UpdateSummary, auto.OutputMap, error) {
	out, err := runCLI(ctx, ws, nil, "stack", "history", "--json", "--page-size", "1", "--page", "1", "--non-interactive", "--stack", stack)
	if err != nil {
		return nil, nil, err
	}
	var history []auto.UpdateSummary
	if err := json.Unmarshal([]byte(out), &history); err != nil {
		return nil, nil, fmt.Errorf("stack history: %w", err)
	}
	outs, err := maskedOutputs(ctx, ws, stack)
	if err != nil {
		return nil, nil, err
	}
	var last *auto.UpdateSummary
	if len(history) > 0 {
		last = &history[0]
	}
	return last, outs, nil
}

// maskedOutputs reads a stack's outputs in one CLI process, secrets masked.
func maskedOutputs(ctx context.Context, ws auto.Workspace, stack string) (auto.OutputMap, error) {
	out, err := runCLI(ctx, ws, nil, "stack", "output", "--json", "--non-interactive", "--stack", stack)
	if err != nil {
		return nil, err
	}
	var outs map[string]any
	if err := json.Unmarshal([]byte(out), &outs); err != nil {
		return nil, fmt.Errorf("stack output: %w", err)
	}
	return stackOutputs(outs), nil
}

// secretSig marks a secret value in serialized engine state.
const secretSig = "4dabf18193072939515e22adb298388d"
