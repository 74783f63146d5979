package rollout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"google.golang.org/grpc/codes"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// The single-process engine (runEngine) relies on CLI behaviour that is not public: hidden
// flags, and serving the program itself. For a CLI outside pulumicli.EngineVersions, the range
// the contract tests have checked, the same operations go through the public auto.Stack API
// instead: slower (a `stack select` before, and `stack output`/`stack history` after, each a
// process), but supported on every CLI the Automation API supports.

// fallbackNotice receives the one line that says the public path is in use; tests swap it.
var fallbackNotice io.Writer = os.Stderr

var fallbackNoted sync.Map // version string -> struct{}

// noteFallback says once per process and CLI version why the public path is used.
func noteFallback(v semver.Version) {
	if _, seen := fallbackNoted.LoadOrStore(v.String(), struct{}{}); seen {
		return
	}
	fmt.Fprintf(fallbackNotice, "rollout: Pulumi CLI v%s is outside %q, the versions the single-process engine is tested with; "+
		"using the Automation API's stack operations instead (correct, but several CLI processes per account)\n", v, pulumicli.EngineVersions)
}

// runAuto runs op through auto.Stack. The program is wrapped so that its own error is
// recorded as on the fast path, and failed resources are read from the engine's events.
func runAuto(ctx context.Context, ws auto.Workspace, op engineOp) (*engineResult, error) {
	program := ws.Program()
	var mu sync.Mutex
	var failed error
	ws.SetProgram(recording(program, func(err error) {
		mu.Lock()
		failed = err
		mu.Unlock()
	}))
	defer ws.SetProgram(program)

	stack, err := auto.SelectStack(ctx, op.Stack, ws)
	if err != nil {
		return nil, err
	}
	var progress []io.Writer
	if op.Log != nil {
		progress = []io.Writer{op.Log}
	}

	// auto closes the event channel before the operation returns, once it has passed on the
	// whole log; if the operation failed before it started the log, it never does.
	evs := make(chan events.EngineEvent)
	var urn, message string
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for e := range evs {
			if u, m, ok := failedResource(e.EngineEvent); ok {
				mu.Lock()
				if urn == "" {
					urn, message = u, m
				}
				mu.Unlock()
			}
		}
	}()

	res := &engineResult{}
	switch op.Command {
	case "up":
		opts := []optup.Option{optup.ProgressStreams(progress...), optup.ErrorProgressStreams(progress...), optup.EventStreams(evs), optup.ShowSecrets(false)}
		if op.Refresh {
			opts = append(opts, optup.Refresh())
		}
		var r auto.UpResult
		if r, err = stack.Up(ctx, opts...); err == nil {
			res.Changes = changeCounts(r.Summary.ResourceChanges)
			res.Outputs = auto.OutputMap{}
			for k, v := range r.Outputs {
				if v.Secret {
					// As on the fast path: a secret is marked, never held.
					v.Value = nil
				}
				res.Outputs[k] = v
			}
		}
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(progress...), optpreview.ErrorProgressStreams(progress...), optpreview.EventStreams(evs)}
		if op.Refresh {
			opts = append(opts, optpreview.Refresh())
		}
		var r auto.PreviewResult
		if r, err = stack.Preview(ctx, opts...); err == nil {
			res.Changes = map[string]int{}
			for k, v := range r.ChangeSummary {
				res.Changes[string(k)] = v
			}
		}
	case "destroy":
		opts := []optdestroy.Option{optdestroy.ProgressStreams(progress...), optdestroy.ErrorProgressStreams(progress...), optdestroy.EventStreams(evs)}
		if op.Remove {
			opts = append(opts, optdestroy.Remove())
		}
		if op.Refresh {
			opts = append(opts, optdestroy.Refresh())
		}
		var r auto.DestroyResult
		if r, err = stack.Destroy(ctx, opts...); err == nil {
			res.Changes = changeCounts(r.Summary.ResourceChanges)
		}
	}
	select {
	case <-collected:
	case <-time.After(2 * time.Second):
	}
	if err != nil {
		mu.Lock()
		perr, urn, message := failed, urn, message
		mu.Unlock()
		// auto's errors do not expose the CLI's exit status (the fast path's killed()), so a
		// CLI that died under the program is told by the program's error: its engine calls
		// failed because the engine was gone.
		if perr != nil && !engineGone(perr) {
			return nil, &ProgramError{Stack: op.Stack, Err: perr, Engine: err}
		}
		if urn != "" {
			return nil, &ResourceError{Stack: op.Stack, URN: urn, Message: message, Engine: err}
		}
		return nil, err
	}
	if res.Changes == nil {
		res.Changes = map[string]int{}
	}
	return res, nil
}

// engineGone reports whether a program's error is only that the engine it talks to went away
// (the CLI died under it): an engine call's gRPC status, Unavailable or Canceled, still in the
// error's chain. A program that wraps errors without %w hides it, and is taken at its word.
func engineGone(err error) bool {
	c, ok := engineCallCode(err)
	return ok && (c == codes.Unavailable || c == codes.Canceled)
}

func changeCounts(m *map[string]int) map[string]int {
	out := map[string]int{}
	if m != nil {
		for k, v := range *m {
			out[k] = v
		}
	}
	return out
}
