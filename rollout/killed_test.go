package rollout_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// tornSidecar leaves a sidecar the way a CLI killed inside fileblob's setAttrs does: truncated
// by os.Create, never written, and (as after any kill the next run comes to) not brand new.
func tornSidecar(t *testing.T, path string) {
	t.Helper()
	require.FileExists(t, path)
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	old := time.Now().Add(-time.Minute)
	require.NoError(t, os.Chtimes(path, old, old))
}

// repairs collects the repair events of a run.
type repairs struct {
	mu   sync.Mutex
	msgs []string
}

func (r *repairs) event(e rollout.Event) {
	if e.Type == rollout.EventRepaired {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.msgs = append(r.msgs, e.Message)
	}
}

func (r *repairs) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// A CLI killed while it rewrites one of a stack's objects can leave that object's metadata
// sidecar empty; every CLI command then fails with `failed to load checkpoint: EOF` (or
// `read ".pulumi/meta.yaml": EOF`). The next run repairs it and says so.
func TestTornSidecarIsRepaired(t *testing.T) {
	r, dir, acct, seen := deployedStub(t)
	stack := acct[0].ID
	stacks := filepath.Join(dir, ".pulumi", "stacks", "byoc-access")

	for _, c := range []struct {
		name    string
		sidecar string
		run     func() (*rollout.Report, error)
	}{
		{"checkpoint, then up", filepath.Join(stacks, stack+".json.attrs"), func() (*rollout.Report, error) { return r.Up(context.Background(), acct) }},
		{"checkpoint, then status", filepath.Join(stacks, stack+".json.attrs"), func() (*rollout.Report, error) { return r.Status(context.Background(), acct) }},
		{"checkpoint backup, then up", filepath.Join(stacks, stack+".json.bak.attrs"), func() (*rollout.Report, error) { return r.Up(context.Background(), acct) }},
		{"backend metadata, then up", filepath.Join(dir, ".pulumi", "meta.yaml.attrs"), func() (*rollout.Report, error) { return r.Up(context.Background(), acct) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen.msgs = nil
			tornSidecar(t, c.sidecar)
			rep, err := c.run()
			require.NoError(t, err)
			require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
			rel, _ := filepath.Rel(dir, c.sidecar)
			require.Contains(t, seen.all(), "removed "+rel, "the run says what it repaired")
			require.Contains(t, seen.all(), "failed to load checkpoint: EOF")
		})
	}
}

// The torn sidecar made for real, as on the loaded machine where
// TestKilledRunLeavesALockThatUnlockClears saw `failed to load checkpoint: EOF`: the CLI of an
// update is SIGKILLed (by strace, at the exact system call) when it starts writing the
// checkpoint's sidecar, which fileblob has just truncated. The update holds the stack's lock
// by then, so the kill leaves both. The CLI alone then fails every command on the stack with
// the EOF; the rollout repairs the sidecar, names the lock and, once it is cleared, deploys.
func TestKilledWhileWritingTheCheckpointSidecar(t *testing.T) {
	cmd := pulumiCLI(t)
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		testenv.Missing(t, "strace is not installed (apt-get install strace): it places the SIGKILL at the sidecar write")
	}
	dir := t.TempDir()
	acct := accountsN(1)
	stack := acct[0].ID
	sidecar := filepath.Join(dir, ".pulumi", "stacks", "byoc-access", stack+".json.attrs")
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir),
		rollout.Passphrase(passphrase), rollout.Force(true))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)

	// A CLI whose first write into the checkpoint's sidecar is its last: strace counts per
	// thread, and the sidecar is written once per save.
	pulumiBin := pulumiBinary(t)
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	wrapper := "#!/bin/sh\nexec " + straceBin + " -f -o /dev/null -P " + sidecar +
		" -e trace=write -e inject=write:signal=KILL:when=1 " + pulumiBin + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "pulumi"), []byte(wrapper), 0o755))
	dying, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, SkipVersionCheck: true})
	require.NoError(t, err)
	killed, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(dying), rollout.Backend("file://"+dir),
		rollout.Passphrase(passphrase), rollout.Force(true))
	require.NoError(t, err)
	rep, err = killed.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Failed, "the CLI is killed: %+v", rep.Results)
	info, err := os.Stat(sidecar)
	require.NoError(t, err)
	require.Zero(t, info.Size(), "the kill lands between the sidecar's truncation and its write")
	require.Len(t, fileLocks(t, dir), 1, "the update held the lock")

	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "Pulumi.yaml"), []byte("name: byoc-access\nruntime: go\n"), 0o600))
	check := exec.Command(pulumiBin, "stack", "output", "--stack", stack, "--non-interactive")
	check.Dir = work
	check.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+dir, "PULUMI_CONFIG_PASSPHRASE="+passphrase,
		"PULUMI_HOME="+t.TempDir(), "PULUMI_SKIP_UPDATE_CHECK=true")
	out, err := check.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "failed to load checkpoint: EOF", "the CLI alone is stuck")

	seen := &repairs{}
	r, err = rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir),
		rollout.Passphrase(passphrase), rollout.OnEvent(seen.event))
	require.NoError(t, err)
	rep, err = r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, rollout.KindLockHeld, rep.Results[0].Kind, "the lock, not the EOF: %+v", rep.Results[0])
	require.Contains(t, seen.all(), "torn metadata sidecar")
	require.Contains(t, rep.Results[0].Error, "rollout unlock")
	for _, l := range fileLocks(t, dir) {
		stale, why := l.Stale(0)
		require.True(t, stale, why)
		require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(l.Key))))
	}
	rep, err = r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
}

// pulumiBinary is the CLI binary pulumicli.Find picks, for running it under strace.
func pulumiBinary(t *testing.T) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("PULUMI_CLI"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range append(candidates, pulumicli.CachedPath()) {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	t.Fatal("no pulumi binary")
	return ""
}

// A checkpoint that does not parse cannot come from a killed CLI (fileblob renames complete
// files into place), but a disk or a hand edit can make one: the account fails with the step
// that recovers it, and that step works.
func TestUnreadableCheckpointNamesTheRecovery(t *testing.T) {
	cmd := pulumiCLI(t)
	dir := t.TempDir()
	acct := accountsN(1)
	checkpoint := filepath.Join(dir, ".pulumi", "stacks", "byoc-access", acct[0].ID+".json")
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir),
		rollout.Passphrase(passphrase), rollout.Force(true))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)

	good, err := os.ReadFile(checkpoint)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(checkpoint, good[:len(good)/2], 0o644))
	rep, err = r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Failed, "%+v", rep.Results)
	msg := rep.Results[0].Error
	require.Contains(t, msg, "is not a readable checkpoint")
	require.Contains(t, msg, acct[0].ID+".json.bak")
	require.Contains(t, msg, "then run `rollout up`")

	bak, err := os.ReadFile(checkpoint + ".bak")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(checkpoint, bak, 0o644))
	rep, err = r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "the step the message names recovers: %+v", rep.Results)
}

// stackState runs `pulumi stack export` or `import` on a file backend's stack.
func stackState(t *testing.T, dir, stack, verb, file string) {
	t.Helper()
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "Pulumi.yaml"), []byte("name: byoc-access\nruntime: go\n"), 0o600))
	c := exec.Command(pulumiBinary(t), "stack", verb, "--stack", stack, "--file", file, "--non-interactive")
	c.Dir = work
	c.Env = append(os.Environ(), "PULUMI_BACKEND_URL=file://"+dir, "PULUMI_CONFIG_PASSPHRASE="+passphrase,
		"PULUMI_HOME="+t.TempDir(), "PULUMI_SKIP_UPDATE_CHECK=true")
	out, err := c.CombinedOutput()
	require.NoError(t, err, "stack %s: %s", verb, out)
}

// withPending adds pending CREATE operations to a stack's checkpoint, as a killed update
// leaves them: one for a resource state already holds (the update that imported it was killed
// before clearing it) and, when role is set, one for an IAM role state does not hold. It
// edits the file: `pulumi stack import` drops every pending operation.
func withPending(t *testing.T, dir, stack, role string) {
	t.Helper()
	file := filepath.Join(dir, ".pulumi", "stacks", "byoc-access", stack+".json")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var vc map[string]any
	require.NoError(t, json.Unmarshal(b, &vc))
	dep := vc["checkpoint"].(map[string]any)["latest"].(map[string]any)
	var ops []any
	for _, res := range dep["resources"].([]any) {
		if res.(map[string]any)["type"] == "byoc-access:test:VendorAccessStub" {
			ops = append(ops, map[string]any{"type": "creating", "resource": res})
		}
	}
	require.Len(t, ops, 1)
	if role != "" {
		ops = append(ops, map[string]any{"type": "creating", "resource": map[string]any{
			"urn":    "urn:pulumi:" + stack + "::byoc-access::aws:iam/role:Role::killed",
			"custom": true, "type": "aws:iam/role:Role", "inputs": map[string]any{"name": role},
		}})
	}
	dep["pending_operations"] = ops
	b, err = json.Marshal(vc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, b, 0o644))
}

func pendingOps(t *testing.T, dir, stack string) []any {
	t.Helper()
	file := filepath.Join(t.TempDir(), "state.json")
	stackState(t, dir, stack, "export", file)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var ud struct {
		Deployment struct {
			Pending []any `json:"pending_operations"`
		} `json:"deployment"`
	}
	require.NoError(t, json.Unmarshal(b, &ud))
	return ud.Deployment.Pending
}

// Pending creates a killed update left: one state already holds is cleared after the next
// successful update; one for an IAM role state does not hold, with no way to look in the
// account, fails the update with the step that recovers it, and the destroy with the commands
// that remove the role by hand (a destroy never asks for an `up`, which would grant access
// first), and leaves state as it was.
func TestPendingCreatesAfterAKill(t *testing.T) {
	r, dir, acct, seen := deployedStub(t)
	stack := acct[0].ID

	withPending(t, dir, stack, "KilledRole")
	for _, tc := range []struct {
		run  func(context.Context, []targets.Account) (*rollout.Report, error)
		want []string
	}{
		{r.Up, []string{"role/KilledRole", "run `rollout up` for this account"}},
		{r.Destroy, []string{"role/KilledRole", "aws iam delete-role --role-name KilledRole",
			"pulumi refresh --clear-pending-creates --stack " + stack, "then run destroy again"}},
	} {
		rep, err := tc.run(context.Background(), acct)
		require.NoError(t, err)
		require.Equal(t, rollout.KindConflict, rep.Results[0].Kind, "%+v", rep.Results[0])
		for _, w := range tc.want {
			require.Contains(t, rep.Results[0].Error, w)
		}
	}
	require.Len(t, pendingOps(t, dir, stack), 2, "state is left as it was")

	withPending(t, dir, stack, "")
	rep, err := r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Contains(t, seen.all(), "already in state")
	require.Contains(t, seen.all(), "cleared 1 pending creates")
	require.Empty(t, pendingOps(t, dir, stack), "the pending create is gone")
}

// deployedStub deploys the stub program into one account's stack in a new file backend, with
// a runner that updates even unchanged stacks and collects repair events.
func deployedStub(t *testing.T) (r *rollout.Runner, dir string, acct []targets.Account, seen *repairs) {
	t.Helper()
	dir, acct, seen = t.TempDir(), accountsN(1), &repairs{}
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(pulumiCLI(t)), rollout.Backend("file://"+dir),
		rollout.Passphrase(passphrase), rollout.Force(true), rollout.OnEvent(seen.event))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
	return r, dir, acct, seen
}
