package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/waves"
)

// recordPrevious writes what every account has before an up into the run directory, for
// `rollout rollback --run`. Where it cannot (a backend whose records cannot be read), a plain
// up goes on without it and says so; a run that must be able to roll back fails.
func recordPrevious(ctx context.Context, stderr io.Writer, r *rollout.Runner, runDir string, accounts []targets.Account, required bool) ([]rollout.Previous, error) {
	prev, err := r.Previous(ctx, accounts)
	if err == nil {
		err = waves.SavePrevious(runDir, prev)
	}
	if err != nil {
		if required {
			return nil, fmt.Errorf("--on-gate-failure rollback: cannot record what the accounts have before the run: %w", err)
		}
		fmt.Fprintf(stderr, "warning: `rollout rollback --run %s` will not be possible: %v\n", runDir, err)
		return nil, nil
	}
	return prev, nil
}

// runWaves deploys in waves with gates (package waves), p being the accounts' parameter
// values (nil: the fleet-wide ones), and prints the outcome.
func runWaves(c *cobra.Command, in *deployInput, r *rollout.Runner, runDir string, accounts []targets.Account, p *fleetParams) error {
	ctx := c.Context()
	specs, on, err := in.waves.specs()
	if err != nil {
		return err
	}
	needTags := false
	for _, s := range specs {
		needTags = needTags || s.Select.NeedsTags()
	}
	if needTags && in.fleet.targets.AccountsFile == "" {
		cfg, err := in.fleet.aws(ctx)
		if err != nil {
			return err
		}
		accounts = append([]targets.Account(nil), accounts...)
		if err := targets.ReadTags(ctx, organizations.NewFromConfig(cfg), accounts, targets.DefaultParallel); err != nil {
			return fmt.Errorf("read account tags for a tag: wave: %w", err)
		}
	}
	ws, err := waves.Split(specs, accounts)
	if err != nil {
		return asUsage(err)
	}
	if p == nil {
		vf := in.vendor
		vf.perAccount = nil
		if p, err = resolveParams(ctx, &vf, &in.fleet, accounts, false, prefixedLog(c.ErrOrStderr())); err != nil {
			return err
		}
	}
	prev, err := recordPrevious(ctx, c.ErrOrStderr(), r, runDir, accounts, on == waves.Rollback)
	if err != nil {
		return err
	}
	base, err := in.fleet.aws(ctx)
	if err != nil {
		return err
	}
	reader := liveReader{base: base, role: in.fleet.role()}
	steps := waves.Steps{
		Up: r.Up,
		Verify: func(ctx context.Context, accts []targets.Account) (map[string]string, error) {
			problems := map[string]string{}
			for _, v := range verifyAccounts(ctx, p, reader, accts, in.fleet.targets.Region, in.fleet.parallel(false)) {
				switch {
				case v.Error != "":
					problems[v.AccountID] = "cannot verify: " + v.Error
				case len(v.Findings) > 0:
					var parts []string
					for _, f := range v.Findings {
						parts = append(parts, f.Resource+" "+string(f.Kind))
					}
					problems[v.AccountID] = strings.Join(parts, ", ")
				}
			}
			return problems, nil
		},
		Rollback: func(ctx context.Context, accts []targets.Account) (*rollout.Report, error) {
			return restorer(c, &in.fleet, r, filepath.Join(runDir, "rollback")).Rollback(ctx, prev, accts)
		},
		Log: c.ErrOrStderr(),
	}
	out, err := waves.Run(ctx, ws, steps, on, runDir)
	if err != nil {
		return err
	}
	return finishWaves(c, &in.fleet, out, runDir)
}

// restorer returns accounts to what they had, with runners built from the same fleet flags.
func restorer(c *cobra.Command, ff *fleetFlags, r *rollout.Runner, dir string) waves.Restorer {
	return waves.Restorer{
		Runner: r,
		New: func(dep rollout.Deployment, extra ...rollout.Option) (*rollout.Runner, error) {
			// The run's progress display goes on counting the run's own accounts.
			shown := ff.progress
			defer func() { ff.progress = shown }()
			rr, _, err := ff.runner(c.Context(), c, rollout.OpUp, dep, append(extra, rollout.OnEvent(shown.event))...)
			return rr, err
		},
		Dir:     dir,
		Program: version,
	}
}

// finishWaves prints a run in waves: its report, each wave's gates, where it halted and the
// rollback; a halt or a failed rollback is exit 1.
func finishWaves(c *cobra.Command, f *fleetFlags, out *waves.Outcome, runDir string) error {
	f.progress.done()
	w := c.OutOrStdout()
	if f.Output == "json" {
		if err := writeJSON(w, out); err != nil {
			return err
		}
	} else {
		printTable(w, out.Report)
		fmt.Fprintln(w)
		for _, wo := range out.Waves {
			fmt.Fprintf(w, "%s: %d accounts (%s): %s\n", waves.Wave{Number: wo.Number, Name: wo.Name}.Label(), len(wo.Accounts), wo.Select, wo.Status)
			for _, g := range wo.Gates {
				state := "passed"
				switch {
				case g.Skipped != "":
					state = "skipped (" + g.Skipped + ")"
				case !g.Passed:
					state = "FAILED"
				}
				fmt.Fprintf(w, "  gate %-8s %s: %s\n", g.Gate, state, g.Detail)
			}
		}
		if out.Rollback != nil {
			fmt.Fprintln(w, "\nrolled back:")
			printTable(w, out.Rollback)
		}
		fmt.Fprintf(c.ErrOrStderr(), "reports and logs: %s\n", runDir)
	}
	if out.Halt != nil {
		msg := "halted: " + out.Halt.String()
		if out.Rollback != nil {
			msg += fmt.Sprintf("; %d accounts rolled back, %d failed to", out.Rollback.Counts.Succeeded, out.Rollback.Counts.Failed+out.Rollback.Counts.NotStarted+out.Rollback.Counts.Cancelled)
		}
		return failedError{msg: msg + "; fix the cause and run the same command again to resume"}
	}
	return outcome(out.Report)
}
