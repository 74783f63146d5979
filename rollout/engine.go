package rollout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

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
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se)
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

// readEventLog takes the change summary and, for an update, the stack's outputs from an
// engine event log (one JSON event per line).
func readEventLog(path string, outputs bool) (*engineResult, error) {
	res := &engineResult{}
	err := scanEvents(path, func(e apitype.EngineEvent) {
		switch {
		case e.SummaryEvent != nil:
			res.Changes = map[string]int{}
			for k, v := range e.SummaryEvent.ResourceChanges {
				res.Changes[string(k)] = v
			}
		case outputs && e.ResOutputsEvent != nil && e.ResOutputsEvent.Metadata.Type == "pulumi:pulumi:Stack" &&
			e.ResOutputsEvent.Metadata.New != nil:
			res.Outputs = stackOutputs(e.ResOutputsEvent.Metadata.New.Outputs)
		case e.ResourcePreEvent != nil:
			if s, ok := stepOf(e.ResourcePreEvent.Metadata); ok {
				res.Steps = append(res.Steps, s)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if res.Changes == nil {
		return nil, errors.New("no summary event")
	}
	if outputs && res.Outputs == nil {
		res.Outputs = auto.OutputMap{}
	}
	return res, nil
}

// scanEvents calls fn with each event of an engine event log (one JSON event per line).
func scanEvents(path string, fn func(apitype.EngineEvent)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	// Events carry whole resource states; IAM policies make them long.
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var e apitype.EngineEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("event log line %d: %w", line, err)
		}
		fn(e)
	}
	return sc.Err()
}

// failedResource reports whether an event is the engine's error about one resource: an
// error diagnostic with the resource's URN. The program's own failure is reported without a
// URN (or, by other runtimes, on the stack resource), so it is not one.
func failedResource(e apitype.EngineEvent) (urn, message string, ok bool) {
	d := e.DiagnosticEvent
	if d == nil || d.Severity != "error" || d.URN == "" || resource.URN(d.URN).Type() == resource.RootStackType {
		return "", "", false
	}
	return d.URN, d.Message, true
}

// resourceFailure finds the first failed resource in a failed operation's event log; "" when
// none failed (or the log cannot be read: the CLI may have stopped before writing it).
func resourceFailure(path string) (urn, message string) {
	_ = scanEvents(path, func(e apitype.EngineEvent) {
		if u, m, ok := failedResource(e); ok && urn == "" {
			urn, message = u, m
		}
	})
	return urn, message
}

// secretSig marks a secret value in serialized engine state.
const secretSig = "4dabf18193072939515e22adb298388d"

// stackOutputs turns the stack resource's serialized outputs into an OutputMap. The event log
// never holds secret plaintext: a secret is kept as marked, with no value.
func stackOutputs(outs map[string]any) auto.OutputMap {
	m := auto.OutputMap{}
	for k, v := range outs {
		if obj, ok := v.(map[string]any); ok && obj[secretSig] != nil {
			m[k] = auto.OutputValue{Secret: true}
			continue
		}
		if s, ok := v.(string); ok && s == "[secret]" {
			m[k] = auto.OutputValue{Secret: true}
			continue
		}
		m[k] = auto.OutputValue{Value: v}
	}
	return m
}

// programServer is the language runtime the CLI calls back to run the inline program, as
// the Automation API's own does for auto.Stack operations.
type programServer struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	program pulumi.RunFunc
	address string
	cancel  chan bool
	done    <-chan error
	running sync.WaitGroup
	once    sync.Once

	mu sync.Mutex
	// failed is the error the program itself returned (or its panic) in the last run.
	failed error
}

// programError is the error the program returned in its last run, nil when it succeeded or
// never ran. One server serves one operation on one stack, so this is that stack's program.
// It waits for a run still in flight: a CLI that exits normally has waited for the program
// already, but one that was killed has not (Close waits for it anyway).
func (s *programServer) programError() error {
	s.running.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func serveProgram(program pulumi.RunFunc) (*programServer, error) {
	s := &programServer{program: program, cancel: make(chan bool)}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: s.cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, s)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return nil, err
	}
	s.address, s.done = fmt.Sprintf("127.0.0.1:%d", handle.Port), handle.Done
	return s, nil
}

// Close waits for a program run still in flight (the CLI may have been killed under it) and
// stops the server.
func (s *programServer) Close() {
	s.once.Do(func() {
		s.running.Wait()
		close(s.cancel)
		<-s.done
	})
}

func (s *programServer) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (s *programServer) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "1.0.0"}, nil
}

func (s *programServer) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

func (s *programServer) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	s.running.Add(1)
	defer s.running.Done()
	engineAddress := ""
	if len(req.Args) > 0 {
		engineAddress = req.Args[0]
	}
	pctx, err := pulumi.NewContext(ctx, pulumi.RunInfo{
		EngineAddr:       engineAddress,
		MonitorAddr:      req.GetMonitorAddress(),
		Config:           req.GetConfig(),
		ConfigSecretKeys: req.GetConfigSecretKeys(),
		Project:          req.GetProject(),
		Stack:            req.GetStack(),
		Parallel:         req.GetParallel(),
		DryRun:           req.GetDryRun(),
		Organization:     req.GetOrganization(),
	})
	if err != nil {
		return nil, err
	}
	defer pctx.Close()
	s.mu.Lock()
	s.failed = nil
	s.mu.Unlock()
	err = func() (err error) {
		// A panic in the program fails this account, not the whole fleet process.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("go inline source runtime error, an unhandled panic occurred: %v", r)
			}
		}()
		return pulumi.RunWithContext(pctx, recording(s.program, func(err error) {
			s.mu.Lock()
			s.failed = err
			s.mu.Unlock()
		}))
	}()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// recording wraps a program so that what it returns, or a panic in it, is handed to record
// before the SDK frames it: the error the program's body returned, not the SDK's own errors
// (a resource registration the engine refused is reported by the engine, on the resource).
func recording(program pulumi.RunFunc, record func(error)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("go inline source runtime error, an unhandled panic occurred: %v", r)
			}
			if err != nil {
				record(err)
			}
		}()
		return program(ctx)
	}
}
