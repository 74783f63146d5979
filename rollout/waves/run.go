package waves

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// GateName names a gate in reports.
type GateName string

// The gates, in the order they are checked after a wave.
const (
	GateFailures GateName = "failures"
	GateVerify   GateName = "verify"
	GateWait     GateName = "wait"
	GateCommand  GateName = "command"
)

// OnGateFailure is what a failed gate does besides halting the run.
type OnGateFailure string

// What a failed gate can do.
const (
	// Halt stops the run; the failed wave's accounts keep what it deployed.
	Halt OnGateFailure = "halt"
	// Rollback stops the run and returns the failed wave's accounts to what each had before it.
	Rollback OnGateFailure = "rollback"
)

// Steps are what Run does to accounts, given by the caller with its flags.
type Steps struct {
	// Up deploys a wave's accounts.
	Up func(ctx context.Context, accounts []targets.Account) (*rollout.Report, error)
	// Verify compares each account's live IAM with the spec and returns, by account ID, a
	// one-line problem for each account that differs or cannot be read.
	Verify func(ctx context.Context, accounts []targets.Account) (map[string]string, error)
	// Rollback returns accounts to what they had before the run; needed with Rollback.
	Rollback func(ctx context.Context, accounts []targets.Account) (*rollout.Report, error)
	// Log receives one line per wave and gate, for people watching; nil for none.
	Log io.Writer
}

// GateResult is one gate's outcome after one wave.
type GateResult struct {
	// Gate is which.
	Gate GateName `json:"gate"`
	// Passed says it passed (or was skipped).
	Passed bool `json:"passed"`
	// Skipped says why it did not run, when it did not.
	Skipped string `json:"skipped,omitempty"`
	// Detail says what it found.
	Detail string `json:"detail,omitempty"`
	// Accounts are the accounts that failed it, when it can tell.
	Accounts []string `json:"accounts,omitempty"`
}

// WaveStatus is a wave's outcome.
type WaveStatus string

// Wave outcomes.
const (
	WavePassed     WaveStatus = "passed"
	WaveHalted     WaveStatus = "halted"
	WaveRolledBack WaveStatus = "rolled-back"
	WaveNotStarted WaveStatus = "not-started"
)

// WaveOutcome is one wave's part of a run.
type WaveOutcome struct {
	// Number counts from 1; Name is the wave's name, or its number.
	Number int    `json:"number"`
	Name   string `json:"name"`
	// Select is the wave's selector as written.
	Select string `json:"select"`
	// Accounts are the IDs of the wave's accounts.
	Accounts []string `json:"accounts"`
	// Status is how the wave ended.
	Status WaveStatus `json:"status"`
	// Gates are its gates' results, in the order they ran, up to the first that failed.
	Gates []GateResult `json:"gates,omitempty"`
}

// HaltReason says where and why a run halted.
type HaltReason struct {
	// Wave is the wave's number, WaveName its name.
	Wave     int    `json:"wave"`
	WaveName string `json:"waveName"`
	// Gate is the gate that failed; empty when the run was interrupted.
	Gate GateName `json:"gate,omitempty"`
	// Reason is the gate's detail.
	Reason string `json:"reason"`
}

func (h *HaltReason) String() string {
	label := Wave{Number: h.Wave, Name: h.WaveName}.Label()
	if h.Gate == "" {
		return fmt.Sprintf("%s: %s", label, h.Reason)
	}
	return fmt.Sprintf("%s failed its %s gate: %s", label, h.Gate, h.Reason)
}

// Outcome is a run in waves: the report over all its accounts (later waves' accounts not
// started when it halted), each wave's gates, where it halted, and the rollback's report.
type Outcome struct {
	// Report covers every account of the run; its fields are the outcome's in JSON.
	*rollout.Report
	// Waves are the waves in order.
	Waves []WaveOutcome `json:"waves"`
	// Halt says where the run halted; nil when every wave passed.
	Halt *HaltReason `json:"halt,omitempty"`
	// Rollback is the report of the failed wave's rollback, with Rollback.
	Rollback *rollout.Report `json:"rollback,omitempty"`
}

// Run deploys the waves one after another. After each wave its gates run in order (failures,
// verify, wait, command); the first that fails halts the run: later waves are not started,
// and with Rollback the failed wave's accounts that this run changed are returned to what
// they had. runDir, when set, receives each wave's report (wave-N.json) and the whole
// outcome (waves.json, report.json/.csv/.md).
func Run(ctx context.Context, waves []Wave, steps Steps, on OnGateFailure, runDir string) (*Outcome, error) {
	if on == Rollback && steps.Rollback == nil {
		return nil, errors.New("waves: rolling back on a failed gate needs Steps.Rollback")
	}
	started := time.Now()
	logf := func(format string, args ...any) {
		if steps.Log != nil {
			fmt.Fprintf(steps.Log, format+"\n", args...)
		}
	}
	out := &Outcome{}
	var reports []*rollout.Report
	var notStarted []rollout.Result
	for _, w := range waves {
		wo := WaveOutcome{Number: w.Number, Name: w.Name, Select: w.Spec.Select.Text, Accounts: ids(w.Accounts), Status: WaveNotStarted}
		if out.Halt != nil || ctx.Err() != nil {
			why := "the run was interrupted"
			if out.Halt != nil {
				why = out.Halt.String()
			}
			for _, a := range w.Accounts {
				notStarted = append(notStarted, rollout.Result{Account: a, Status: rollout.StatusNotStarted, Error: "not started: " + why})
			}
			out.Waves = append(out.Waves, wo)
			continue
		}
		logf("%s: %d accounts (%s)", w.Label(), len(w.Accounts), w.Spec.Select.Text)
		rep, err := steps.Up(ctx, w.Accounts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Label(), err)
		}
		reports = append(reports, rep)
		if runDir != "" {
			if err := writeJSONFile(filepath.Join(runDir, fmt.Sprintf("wave-%d.json", w.Number)), rep); err != nil {
				return nil, err
			}
		}
		wo.Status = WavePassed
		if rep.Interrupted {
			wo.Status = WaveHalted
			out.Halt = &HaltReason{Wave: w.Number, WaveName: w.Name, Reason: "the run was interrupted"}
		} else {
			wo.Gates = checkGates(ctx, w, rep, steps, runDir, logf)
			if g := failedGate(wo.Gates); g != nil {
				wo.Status = WaveHalted
				out.Halt = &HaltReason{Wave: w.Number, WaveName: w.Name, Gate: g.Gate, Reason: g.Detail}
				logf("%s: halted: %s", w.Label(), out.Halt)
			}
		}
		if out.Halt != nil && on == Rollback && out.Halt.Gate != "" {
			changed := Changed(rep)
			if len(changed) > 0 {
				logf("%s: rolling back %d accounts", w.Label(), len(changed))
				rb, err := steps.Rollback(ctx, accountsOf(w.Accounts, changed))
				if err != nil {
					return nil, fmt.Errorf("%s: roll back: %w", w.Label(), err)
				}
				out.Rollback = rb
			}
			wo.Status = WaveRolledBack
		}
		out.Waves = append(out.Waves, wo)
	}
	out.Report = rollout.Combine(rollout.OpUp, started, reports, notStarted...)
	if runDir != "" {
		if err := out.Report.WriteFiles(runDir); err != nil {
			return out, err
		}
		if err := writeJSONFile(filepath.Join(runDir, "waves.json"), out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// checkGates runs a deployed wave's gates in order, stopping at the first that fails.
func checkGates(ctx context.Context, w Wave, rep *rollout.Report, steps Steps, runDir string, logf func(string, ...any)) []GateResult {
	g := w.Spec.Gates
	var out []GateResult
	add := func(r GateResult) bool {
		out = append(out, r)
		state := "passed"
		switch {
		case r.Skipped != "":
			state = "skipped: " + r.Skipped
		case !r.Passed:
			state = "failed: " + r.Detail
		case r.Detail != "":
			state += ": " + r.Detail
		}
		logf("%s: gate %s %s", w.Label(), r.Gate, state)
		return r.Passed
	}

	var failed, succeeded []string
	changed := false
	for _, res := range rep.Results {
		switch res.Status {
		case rollout.StatusSucceeded, rollout.StatusSkipped:
			succeeded = append(succeeded, res.Account.ID)
			changed = changed || !res.UpToDate
		default:
			failed = append(failed, res.Account.ID)
		}
	}
	limit := g.MaxFailures.Limit(len(w.Accounts))
	fr := GateResult{Gate: GateFailures, Passed: len(failed) <= limit, Accounts: failed,
		Detail: fmt.Sprintf("%d of %d accounts failed (the wave tolerates %s)", len(failed), len(w.Accounts), g.MaxFailures)}
	if !add(fr) {
		return out
	}

	if g.Verify {
		vr := GateResult{Gate: GateVerify, Passed: true}
		problems, err := steps.Verify(ctx, accountsOf(w.Accounts, succeeded))
		switch {
		case err != nil:
			vr.Passed, vr.Detail = false, "verify could not run: "+err.Error()
		case len(problems) > 0:
			vr.Passed = false
			var parts []string
			for _, id := range succeeded {
				if p, ok := problems[id]; ok {
					vr.Accounts = append(vr.Accounts, id)
					parts = append(parts, id+": "+p)
				}
			}
			vr.Detail = fmt.Sprintf("live IAM differs from the spec in %d accounts: %s", len(parts), strings.Join(parts, "; "))
		default:
			vr.Detail = fmt.Sprintf("%d accounts match the spec", len(succeeded))
		}
		if !add(vr) {
			return out
		}
	}

	if g.Wait > 0 {
		wr := GateResult{Gate: GateWait, Passed: true}
		if !changed {
			wr.Skipped = "nothing changed in the wave"
		} else {
			logf("%s: baking for %s", w.Label(), g.Wait)
			select {
			case <-time.After(g.Wait):
				wr.Detail = "waited " + g.Wait.String()
			case <-ctx.Done():
				wr.Passed, wr.Detail = false, "interrupted during the bake time"
			}
		}
		if !add(wr) {
			return out
		}
	}

	if len(g.Command) > 0 {
		add(runCommand(ctx, g, w, succeeded, runDir))
	}
	return out
}

func failedGate(gs []GateResult) *GateResult {
	for i := range gs {
		if !gs[i].Passed {
			return &gs[i]
		}
	}
	return nil
}

// Changed lists the accounts of a report that the run changed or may have changed: those that
// succeeded with a change and those whose operation failed or was cancelled after it began.
func Changed(rep *rollout.Report) []string {
	var out []string
	for _, r := range rep.Results {
		switch {
		case r.Status == rollout.StatusSucceeded && !r.UpToDate && anyChange(r.Changes):
			out = append(out, r.Account.ID)
		case (r.Status == rollout.StatusFailed || r.Status == rollout.StatusCancelled) && r.Attempts > 0:
			out = append(out, r.Account.ID)
		}
	}
	return out
}

func anyChange(ch map[string]int) bool {
	for op, n := range ch {
		if op != "same" && n > 0 {
			return true
		}
	}
	return false
}

func ids(accounts []targets.Account) []string {
	out := make([]string, len(accounts))
	for i, a := range accounts {
		out[i] = a.ID
	}
	return out
}

// accountsOf is the accounts whose IDs are in want, in the order of all.
func accountsOf(all []targets.Account, want []string) []targets.Account {
	set := map[string]bool{}
	for _, id := range want {
		set[id] = true
	}
	var out []targets.Account
	for _, a := range all {
		if set[a.ID] {
			out = append(out, a)
		}
	}
	return out
}

func writeJSONFile(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJSON(f, v); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
