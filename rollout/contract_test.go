package rollout

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// The single-process engine's contract with the Pulumi CLI: what runEngine relies on that the
// CLI does not promise (hidden flags, serving the program, the event log's shape, exit codes).
// TestEngineContract runs every CLI it is given and fails when one of those changes: run it on
// a new CLI before widening pulumicli.EngineVersions.

// contractCLIs are the CLIs to check: the one pulumicli.Find picks, and every binary listed in
// BYOC_CONTRACT_CLIS (a PATH-style list), to check a new release before admitting it.
func contractCLIs(t *testing.T) []auto.PulumiCommand {
	t.Helper()
	cmds := []auto.PulumiCommand{realCLI(t)}
	for _, bin := range filepath.SplitList(os.Getenv("BYOC_CONTRACT_CLIS")) {
		if bin == "" {
			continue
		}
		cmd, err := pulumicli.At(bin)
		require.NoError(t, err, "BYOC_CONTRACT_CLIS")
		cmds = append(cmds, cmd)
	}
	return cmds
}

type contractComponent struct{ pulumi.ResourceState }

// contractProgram registers one component and exports a plain and a secret output; it counts
// its runs and remembers the stack it ran for.
func contractProgram(runs *atomic.Int32, stack *atomic.Value, fail error) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		runs.Add(1)
		stack.Store(ctx.Stack())
		if fail != nil {
			return fail
		}
		var c contractComponent
		if err := ctx.RegisterComponentResource("byoc-access:test:Contract", "c", &c); err != nil {
			return err
		}
		ctx.Export("plain", pulumi.String("value"))
		ctx.Export("token", pulumi.ToSecret(pulumi.String("s3cr3t-plaintext")))
		return nil
	}
}

// events reads an event log as the engine does, checking each line's envelope.
func eventsOf(t *testing.T, path string) []apitype.EngineEvent {
	t.Helper()
	var out []apitype.EngineEvent
	require.NoError(t, scanEvents(path, func(e apitype.EngineEvent) { out = append(out, e) }))
	for i := 1; i < len(out); i++ {
		require.Greater(t, out[i].Sequence, out[i-1].Sequence, "events are in sequence")
	}
	return out
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *engineError
	require.ErrorAs(t, err, &ee)
	return ee.code
}

func TestEngineContract(t *testing.T) {
	for _, cmd := range contractCLIs(t) {
		t.Run("v"+cmd.Version().String(), func(t *testing.T) {
			if !pulumicli.EngineSupported(cmd.Version()) {
				t.Skipf("v%s is outside %s: the engine does not drive it (it falls back to auto.Stack)", cmd.Version(), pulumicli.EngineVersions)
			}
			ctx := context.Background()
			var runs atomic.Int32
			var ranFor atomic.Value
			ws := engineWorkspace(t, cmd, "", contractProgram(&runs, &ranFor, nil))
			newStack(t, ws, "contract")
			dir := t.TempDir()

			// --client: the CLI runs the program through the rollout's own language server,
			// once per `up --skip-preview`, for the stack named by --stack.
			// --event-log: the summary and the stack's outputs are in the log, secrets marked.
			upLog := filepath.Join(dir, "up.jsonl")
			res, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "contract", eventLog: upLog})
			require.NoError(t, err, "exit code 0 and a readable event log")
			require.Equal(t, int32(1), runs.Load(), "the program ran once, in this process")
			require.Equal(t, "contract", ranFor.Load())
			require.Equal(t, map[string]int{"create": 2}, res.Changes)
			require.Equal(t, auto.OutputMap{"plain": {Value: "value"}, "token": {Secret: true}}, res.Outputs)
			raw, err := os.ReadFile(upLog)
			require.NoError(t, err)
			require.NotContains(t, string(raw), "s3cr3t-plaintext", "the event log holds no secret plaintext")
			var summaries, stackOutputs int
			for _, e := range eventsOf(t, upLog) {
				if e.SummaryEvent != nil {
					summaries++
				}
				if e.ResOutputsEvent != nil && e.ResOutputsEvent.Metadata.Type == "pulumi:pulumi:Stack" {
					stackOutputs++
					require.NotNil(t, e.ResOutputsEvent.Metadata.New, "the stack's outputs event carries its new state")
				}
			}
			require.Equal(t, 1, summaries, "one summary event")
			require.Equal(t, 1, stackOutputs, "one outputs event for the stack resource")

			// A preview runs the program too, and its summary counts what is the same.
			res, err = runEngine(ctx, ws, engineOp{Command: "preview", Stack: "contract"})
			require.NoError(t, err)
			require.Equal(t, map[string]int{"same": 2}, res.Changes)
			require.Nil(t, res.Outputs)
			require.Equal(t, int32(2), runs.Load())

			// A failing program: a non-zero exit, and the engine's diagnostic about it is on no
			// resource, so it is never taken for a failed resource.
			failing := engineWorkspace(t, cmd, "", contractProgram(&runs, &ranFor, errors.New("the program says no")))
			newStack(t, failing, "failing")
			failLog := filepath.Join(dir, "fail.jsonl")
			_, err = runEngine(ctx, failing, engineOp{Command: "up", Stack: "failing", eventLog: failLog})
			var pe *ProgramError
			require.ErrorAs(t, err, &pe)
			require.NotZero(t, exitCode(t, pe.Engine))
			urn, _ := resourceFailure(failLog)
			require.Empty(t, urn)
			var programDiag bool
			for _, e := range eventsOf(t, failLog) {
				if d := e.DiagnosticEvent; d != nil && d.Severity == "error" && strings.Contains(d.Message, "the program says no") {
					programDiag = true
				}
			}
			require.True(t, programDiag, "the program's error is reported as an error diagnostic")

			// A failing resource: its error diagnostic carries its URN and the provider's words.
			UseTestProvider(t)
			flaky := engineWorkspace(t, cmd, "", func(pctx *pulumi.Context) error {
				_, err := NewFlaky(pctx, "r", "provider says: api error Throttling: Rate exceeded")
				return err
			})
			newStack(t, flaky, "flaky")
			flakyLog := filepath.Join(dir, "flaky.jsonl")
			_, err = runEngine(ctx, flaky, engineOp{Command: "up", Stack: "flaky", eventLog: flakyLog})
			require.NotZero(t, exitCode(t, err))
			urn, msg := resourceFailure(flakyLog)
			require.True(t, strings.HasSuffix(urn, "::"+FlakyType+"::r"), urn)
			require.Contains(t, msg, "provider says: api error Throttling: Rate exceeded")

			// --remove after a destroy deletes the stack, and the summary counts the deletes.
			res, err = runEngine(ctx, ws, engineOp{Command: "destroy", Stack: "contract", Remove: true})
			require.NoError(t, err)
			require.Equal(t, map[string]int{"delete": 2}, res.Changes)
			_, err = auto.SelectStack(ctx, "contract", ws)
			require.True(t, auto.IsSelectStack404Error(err), "the stack is gone: %v", err)

			// A stack that is not there: a non-zero exit before any event.
			_, err = runEngine(ctx, ws, engineOp{Command: "up", Stack: "contract"})
			require.NotZero(t, exitCode(t, err))
			require.True(t, isNoStack(err))
		})
	}
}

// versionedCLI is the real CLI reporting another version, and recording the commands it runs.
type versionedCLI struct {
	auto.PulumiCommand
	version semver.Version
	mu      sync.Mutex
	ran     []string
}

func (c *versionedCLI) Version() semver.Version { return c.version }

func (c *versionedCLI) Run(ctx context.Context, workdir string, stdin io.Reader, stdout, stderr []io.Writer, env []string, args ...string) (string, string, int, error) {
	c.mu.Lock()
	c.ran = append(c.ran, strings.Join(args, " "))
	c.mu.Unlock()
	return c.PulumiCommand.Run(ctx, workdir, stdin, stdout, stderr, env, args...)
}

func (c *versionedCLI) commands() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.ran, "\n")
}

// TestEngineFallsBackOutsideTheSupportedRange: a CLI outside pulumicli.EngineVersions is driven
// through the public auto.Stack operations, with the same results and typed errors, and the
// run says so once.
func TestEngineFallsBackOutsideTheSupportedRange(t *testing.T) {
	real := realCLI(t)
	var notice bytes.Buffer
	fallbackNotice = &notice
	t.Cleanup(func() { fallbackNotice = os.Stderr })
	ctx := context.Background()

	for _, v := range []string{pulumicli.Version, "3.251.0", "4.0.0"} {
		t.Run(v, func(t *testing.T) {
			notice.Reset()
			fallbackNoted.Delete(v)
			cli := &versionedCLI{PulumiCommand: real, version: semver.MustParse(v)}
			fallback := !pulumicli.EngineSupported(cli.version)
			var runs atomic.Int32
			var ranFor atomic.Value
			ws := engineWorkspace(t, cli, "", contractProgram(&runs, &ranFor, nil))
			newStack(t, ws, "fb")

			res, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "fb"})
			require.NoError(t, err)
			require.Equal(t, map[string]int{"create": 2}, res.Changes)
			require.Equal(t, auto.OutputMap{"plain": {Value: "value"}, "token": {Secret: true}}, res.Outputs, "secrets marked, never held")
			res, err = runEngine(ctx, ws, engineOp{Command: "preview", Stack: "fb"})
			require.NoError(t, err)
			require.Equal(t, map[string]int{"same": 2}, res.Changes)

			// Typed failures on either path.
			failing := engineWorkspace(t, cli, "", contractProgram(&runs, &ranFor, errors.New("api error Throttling: Rate exceeded")))
			newStack(t, failing, "failing")
			_, err = runEngine(ctx, failing, engineOp{Command: "up", Stack: "failing"})
			require.Equal(t, KindProgram, classify(ctx, "111111111111", err).Kind, "%v", err)
			require.NotNil(t, failing.Program(), "the workspace keeps its program")
			UseTestProvider(t)
			flaky := engineWorkspace(t, cli, "", func(pctx *pulumi.Context) error {
				_, err := NewFlaky(pctx, "r", awsThrottled)
				return err
			})
			newStack(t, flaky, "flaky")
			_, err = runEngine(ctx, flaky, engineOp{Command: "up", Stack: "flaky"})
			require.Equal(t, KindThrottled, classify(ctx, "111111111111", err).Kind, "%v", err)

			res, err = runEngine(ctx, ws, engineOp{Command: "destroy", Stack: "fb", Remove: true})
			require.NoError(t, err)
			require.Equal(t, map[string]int{"delete": 2}, res.Changes)
			ran := cli.commands()
			_, err = auto.SelectStack(ctx, "fb", ws)
			require.True(t, auto.IsSelectStack404Error(err), "removed: %v", err)

			if !fallback {
				require.Empty(t, notice.String())
				require.NotContains(t, ran, "stack select", "the single-process engine selects nothing")
				return
			}
			require.Contains(t, ran, "stack select", "auto.Stack's path")
			require.Equal(t, 1, strings.Count(notice.String(), "\n"), "said once: %s", notice.String())
			require.Contains(t, notice.String(), "v"+v)
			require.Contains(t, notice.String(), pulumicli.EngineVersions)
		})
	}
}

// TestEngineKeepsRenamedResourcesByAlias checks, with the real CLI, what components.
// VendorAccess relies on when it renames policy attachments after their whole ARN: a logical
// name may hold the ARN's "::", and a child renamed with its old name as an alias is the same
// resource to the engine (no replacement, which for an attachment would detach the policy).
func TestEngineKeepsRenamedResourcesByAlias(t *testing.T) {
	cmd := realCLI(t)
	UseTestProvider(t)
	ctx := context.Background()
	const oldName = "acme-main-attach-AmazonS3ReadOnlyAccess"
	const newName = "acme-main-attach-arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
	program := func(name string, aliased bool) pulumi.RunFunc {
		return func(pctx *pulumi.Context) error {
			var c contractComponent
			if err := pctx.RegisterComponentResource("byoc-access:index:VendorAccess", "acme", &c); err != nil {
				return err
			}
			opts := []pulumi.ResourceOption{pulumi.Parent(&c)}
			if aliased {
				opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(oldName)}}))
			}
			_, err := NewFlaky(pctx, name, "", opts...)
			return err
		}
	}
	backend := "file://" + t.TempDir()
	up := func(p pulumi.RunFunc) map[string]int {
		ws := engineWorkspace(t, cmd, backend, p)
		res, err := runEngine(ctx, ws, engineOp{Command: "up", Stack: "alias"})
		require.NoError(t, err)
		return res.Changes
	}
	newStack(t, engineWorkspace(t, cmd, backend, program(oldName, false)), "alias")
	require.Equal(t, map[string]int{"create": 3}, up(program(oldName, false)), "deployed under the old name")
	require.Equal(t, map[string]int{"same": 3}, up(program(newName, true)), "renamed with an alias: the same resource")
	require.Equal(t, map[string]int{"same": 3}, up(program(newName, true)), "and stays so")
	// Without the alias the rename is a create and a delete.
	require.Equal(t, map[string]int{"create": 1, "delete": 1, "same": 2}, up(program(oldName+"-2", false)))
}
