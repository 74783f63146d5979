package waves

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestRollbackLeavesWhatItCannotRestore: an account whose earlier state is unknown, or that the
// run did not record, fails with the reason and nothing is run for it.
func TestRollbackLeavesWhatItCannotRestore(t *testing.T) {
	unknown, unrecorded := targets.Account{ID: "100000000001"}, targets.Account{ID: "100000000002"}
	prev := []rollout.Previous{{Account: unknown, Had: rollout.BeforeUnknown, Reason: "its last update was made by a version that did not record what it applied"}}
	called := false
	r, err := rollout.New(rollout.StateDeployment(), rollout.Passphrase("p"), rollout.Backend("file://"+t.TempDir()), rollout.PulumiCommand(noCLI{}))
	require.NoError(t, err)
	rs := Restorer{Runner: r, Dir: t.TempDir(), New: func(rollout.Deployment, ...rollout.Option) (*rollout.Runner, error) {
		called = true
		return nil, errors.New("no runner in this test")
	}}
	rep, err := rs.Rollback(context.Background(), prev, []targets.Account{unknown, unrecorded})
	require.NoError(t, err)
	require.False(t, called, "nothing is deployed or destroyed")
	require.Equal(t, rollout.OpRollback, rep.Operation)
	require.Equal(t, 2, rep.Counts.Failed)
	want := map[string]string{
		unknown.ID:    "cannot roll back: its last update was made by a version that did not record what it applied",
		unrecorded.ID: "cannot roll back: the run did not record what the account had before",
	}
	for _, r := range rep.Results {
		require.Equal(t, want[r.Account.ID], r.Error)
		require.Equal(t, rollout.KindConfig, r.Kind)
	}
	require.FileExists(t, filepath.Join(rs.Dir, "report.json"))
}

// noCLI is a Pulumi CLI that is never run.
type noCLI struct{}

func (noCLI) Run(context.Context, string, io.Reader, []io.Writer, []io.Writer, []string, ...string) (string, string, int, error) {
	return "", "", 1, errors.New("no CLI in this test")
}
func (noCLI) Version() semver.Version { return semver.MustParse("3.250.0") }

// TestLoadRun: a run directory gives what its accounts had before and which ones it changed;
// anything else is not a run to roll back.
func TestLoadRun(t *testing.T) {
	a, b, c := targets.Account{ID: "100000000001"}, targets.Account{ID: "100000000002"}, targets.Account{ID: "100000000003"}
	dir := t.TempDir()
	require.NoError(t, SavePrevious(dir, []rollout.Previous{{Account: a, Had: rollout.BeforeNothing}, {Account: b, Had: rollout.BeforeNothing}, {Account: c, Had: rollout.BeforeNothing}}))
	rep := rollout.Combine(rollout.OpUp, time.Time{}, nil,
		rollout.Result{Account: a, Status: rollout.StatusSucceeded, Attempts: 1, Changes: map[string]int{"create": 2}},
		rollout.Result{Account: b, Status: rollout.StatusSucceeded, UpToDate: true},
		rollout.Result{Account: c, Status: rollout.StatusFailed, Attempts: 1})
	require.NoError(t, rep.WriteFiles(dir))
	run, err := LoadRun(dir)
	require.NoError(t, err)
	require.Len(t, run.Previous, 3)
	require.Equal(t, []string{a.ID, c.ID}, run.Changed, "changed or failed after it began; not the one skipped as up to date")

	empty := t.TempDir()
	_, err = LoadRun(empty)
	require.ErrorIs(t, err, ErrNotARun)
	plan := t.TempDir()
	require.NoError(t, SavePrevious(plan, nil))
	require.NoError(t, rollout.Combine(rollout.OpPreview, time.Time{}, nil).WriteFiles(plan))
	_, err = LoadRun(plan)
	require.ErrorContains(t, err, "the run was a plan, not an up")
}

// TestPreviousKeepsEachSpecOnce: previous.json holds a spec shared by many accounts once (at
// 1,000 accounts it was 12.8 MB with a copy in each), reads back to exactly what was saved,
// and a run directory written by an earlier version (a plain list) still reads.
func TestPreviousKeepsEachSpecOnce(t *testing.T) {
	specA := json.RawMessage(`{"vendor":"Acme","marker":"spec-a"}`)
	specB := json.RawMessage(`{"vendor":"Acme","marker":"spec-b"}`)
	var prev []rollout.Previous
	for i := range 5 {
		spec := specA
		if i == 4 {
			spec = specB
		}
		prev = append(prev, rollout.Previous{Account: targets.Account{ID: fmt.Sprintf("10000000000%d", i)}, Had: rollout.BeforeApplied,
			Applied: &rollout.Applied{Program: "dev", Version: "v1", Spec: spec, Params: map[string]any{"external_id": fmt.Sprint("o-", i)}}})
	}
	prev = append(prev, rollout.Previous{Account: targets.Account{ID: "100000000009"}, Had: rollout.BeforeNothing})
	before, err := json.Marshal(prev)
	require.NoError(t, err)

	dir := t.TempDir()
	require.NoError(t, SavePrevious(dir, prev))
	b, err := os.ReadFile(filepath.Join(dir, PreviousFile))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), "spec-a"), "the shared spec once: %s", b)
	require.Equal(t, 1, strings.Count(string(b), "spec-b"))
	after, err := json.Marshal(prev)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after), "saving leaves the caller's records alone")

	require.NoError(t, rollout.Combine(rollout.OpUp, time.Time{}, nil).WriteFiles(dir))
	run, err := LoadRun(dir)
	require.NoError(t, err)
	got, err := json.Marshal(run.Previous)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(got))

	old := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(old, PreviousFile), before, 0o600))
	require.NoError(t, rollout.Combine(rollout.OpUp, time.Time{}, nil).WriteFiles(old))
	run, err = LoadRun(old)
	require.NoError(t, err)
	got, err = json.Marshal(run.Previous)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(got), "the earlier form still reads")
}
