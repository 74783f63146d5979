package waves

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// PreviousFile is the file in a run directory that says what each of the run's accounts had
// before it: what `rollout rollback --run` returns them to. Secret parameter values in it stay
// sealed with the passphrase.
const PreviousFile = "previous.json"

// previousFile is previous.json: each distinct spec once, and each account's state naming
// its spec by SHA-256 (Applied.SpecRef). A fleet's accounts mostly share one spec, which
// written into each account's entry made the file 12.8 MB at 1,000 accounts.
type previousFile struct {
	Specs    map[string]json.RawMessage `json:"specs"`
	Accounts []rollout.Previous         `json:"accounts"`
}

// SavePrevious writes what the run's accounts had before it into its run directory.
func SavePrevious(runDir string, prev []rollout.Previous) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	file := previousFile{Specs: map[string]json.RawMessage{}, Accounts: make([]rollout.Previous, len(prev))}
	for i, p := range prev {
		if p.Applied != nil && len(p.Applied.Spec) > 0 {
			applied := *p.Applied
			sum := sha256.Sum256(applied.Spec)
			ref := "sha256:" + hex.EncodeToString(sum[:])
			file.Specs[ref] = applied.Spec
			applied.Spec, applied.SpecRef = nil, ref
			p.Applied = &applied
		}
		file.Accounts[i] = p
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(runDir, PreviousFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// loadPrevious reads previous.json, in either form: the current one (specs once), or the
// plain list of accounts that earlier versions wrote.
func loadPrevious(b []byte) ([]rollout.Previous, error) {
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '[' {
		var prev []rollout.Previous
		err := json.Unmarshal(b, &prev)
		return prev, err
	}
	var file previousFile
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, err
	}
	for i, p := range file.Accounts {
		if p.Applied == nil || p.Applied.SpecRef == "" {
			continue
		}
		spec, ok := file.Specs[p.Applied.SpecRef]
		if !ok {
			return nil, fmt.Errorf("account %s: its spec %s is not in the file", p.Account.ID, p.Applied.SpecRef)
		}
		applied := *p.Applied
		applied.Spec, applied.SpecRef = spec, ""
		file.Accounts[i].Applied = &applied
	}
	return file.Accounts, nil
}

// RunRecord is what a rollback needs from an earlier run's directory.
type RunRecord struct {
	// Previous is what each account had before the run.
	Previous []rollout.Previous
	// Changed are the accounts the run changed or may have changed (Changed of its report).
	Changed []string
}

// ErrNotARun says a directory is not a run directory that can be rolled back.
var ErrNotARun = errors.New("not the run directory of an up that recorded what its accounts had before")

// LoadRun reads an earlier up's run directory: its previous.json and report.json.
func LoadRun(runDir string) (*RunRecord, error) {
	b, err := os.ReadFile(filepath.Join(runDir, PreviousFile))
	if err != nil {
		return nil, fmt.Errorf("--run %s: %w (%v)", runDir, ErrNotARun, err)
	}
	var rec RunRecord
	if rec.Previous, err = loadPrevious(b); err != nil {
		return nil, fmt.Errorf("--run %s: %s: %w", runDir, PreviousFile, err)
	}
	b, err = os.ReadFile(filepath.Join(runDir, "report.json"))
	if err != nil {
		return nil, fmt.Errorf("--run %s: %w (%v)", runDir, ErrNotARun, err)
	}
	var rep rollout.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("--run %s: report.json: %w", runDir, err)
	}
	if rep.Operation != rollout.OpUp {
		return nil, fmt.Errorf("--run %s: the run was a %s, not an up: there is nothing to roll back", runDir, rep.Operation)
	}
	rec.Changed = Changed(&rep)
	return &rec, nil
}

// Restorer returns accounts to what they had before a run.
type Restorer struct {
	// Runner is the run's own runner: it decrypts the recorded secret parameter values.
	Runner *rollout.Runner
	// New builds a runner for a deployment with the run's options and these extra ones.
	New func(dep rollout.Deployment, extra ...rollout.Option) (*rollout.Runner, error)
	// Dir receives the rollback's reports and logs, and the recorded specs the program reads.
	Dir string
	// Program is this binary's version: the program that deploys the recorded specs.
	Program string
}

// Rollback returns each of the accounts to what prev says it had: the recorded spec and
// values are deployed again (the same spec, parameters and tags; this binary's program), an
// account that had nothing is offboarded (its stack destroyed and removed), and an account
// whose earlier state is unknown fails with the reason, untouched. Accounts not in prev fail
// likewise.
func (rs Restorer) Rollback(ctx context.Context, prev []rollout.Previous, accounts []targets.Account) (*rollout.Report, error) {
	started := time.Now()
	byID := map[string]rollout.Previous{}
	for _, p := range prev {
		byID[p.Account.ID] = p
	}
	var nothing []targets.Account
	groups := map[string][]targets.Account{}
	applied := map[string]*rollout.Applied{}
	params := map[string]map[string]any{}
	var failed []rollout.Result
	fail := func(a targets.Account, why string) {
		failed = append(failed, rollout.Result{Account: a, Stack: rs.Runner.StackName(a.ID), Status: rollout.StatusFailed, Kind: rollout.KindConfig, Error: "cannot roll back: " + why})
	}
	for _, a := range accounts {
		p, ok := byID[a.ID]
		switch {
		case !ok:
			fail(a, "the run did not record what the account had before")
		case p.Had == rollout.BeforeNothing:
			nothing = append(nothing, a)
		case p.Had == rollout.BeforeApplied && p.Applied != nil:
			vals, err := rs.Runner.ParamsOf(p.Applied)
			if err != nil {
				fail(a, err.Error())
				continue
			}
			key := rollout.AppliedKey(p.Applied)
			groups[key] = append(groups[key], a)
			applied[key], params[a.ID] = p.Applied, vals
		default:
			fail(a, p.Reason)
		}
	}

	var reports []*rollout.Report
	if len(nothing) > 0 {
		r, err := rs.New(rollout.StateDeployment(), rollout.RemoveStacks(true), rollout.RunDir(filepath.Join(rs.Dir, "offboard")))
		if err != nil {
			return nil, err
		}
		rep, err := r.Destroy(ctx, nothing)
		if err != nil {
			return nil, fmt.Errorf("offboard the accounts that had nothing before: %w", err)
		}
		reports = append(reports, rep)
	}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		accts := groups[key]
		dep, err := rollout.AppliedDeployment(applied[key], accts, params, filepath.Join(rs.Dir, "specs"), rs.Program)
		if err != nil {
			for _, a := range accts {
				fail(a, err.Error())
			}
			continue
		}
		// Force: the account's record may already say the recorded config (an earlier
		// rollback), while its resources say otherwise.
		r, err := rs.New(dep, rollout.Force(true), rollout.RunDir(filepath.Join(rs.Dir, "restore-"+key)))
		if err != nil {
			return nil, err
		}
		rep, err := r.Up(ctx, accts)
		if err != nil {
			return nil, fmt.Errorf("redeploy what the accounts had before: %w", err)
		}
		reports = append(reports, rep)
	}
	rep := rollout.Combine(rollout.OpRollback, started, reports, failed...)
	if rs.Dir != "" {
		if err := rep.WriteFiles(rs.Dir); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
