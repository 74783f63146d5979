package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/waves"
)

type rollbackInput struct {
	fleet fleetFlags
	Run   string
}

func newRollbackCmd() *cobra.Command {
	in := &rollbackInput{}
	c := &cobra.Command{
		Use:   "rollback --run RUNDIR [--account ID ...]",
		Short: "Return every account an earlier up changed to what it had before that run",
		Long: `rollback reads an earlier up's run directory (what each account had before the run, and
the run's report) and returns every account that run changed to what it had: the spec,
parameters and tags its last successful update applied before the run are deployed again
(with this binary's program), and an account that had nothing is offboarded (its stack is
destroyed and removed). --account narrows it to some of those accounts.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runRollback(c, in) },
	}
	in.fleet.register(c)
	c.Flags().StringVar(&in.Run, "run", "", "the run directory of the up to roll back (.byoc-access/runs/TIME-up)")
	return c
}

// rollbackIgnores are the target flags that cannot apply: the accounts are the run's.
var rollbackIgnores = []string{"ou", "account-tag", "exclude-account", "exclude-ou", "include-management", "accounts-file", "shard"}

func runRollback(c *cobra.Command, in *rollbackInput) error {
	ctx := c.Context()
	if in.Run == "" {
		return usagef("--run is required: the run directory of the up to roll back (its path is printed after the run, under .byoc-access/runs)")
	}
	for _, name := range rollbackIgnores {
		if c.Flags().Changed(name) {
			return usagef("--%s does not apply to rollback: its accounts are those the run changed (narrow them with --account)", name)
		}
	}
	if err := in.fleet.check(); err != nil {
		return err
	}
	if st, err := os.Stat(in.Run); err != nil || !st.IsDir() {
		return usagef("--run %s: not a directory", in.Run)
	}
	run, err := waves.LoadRun(in.Run)
	if err != nil {
		return asUsage(err)
	}
	var accounts []targets.Account
	for _, p := range run.Previous {
		if slices.Contains(run.Changed, p.Account.ID) && (len(in.fleet.targets.Accounts) == 0 || slices.Contains(in.fleet.targets.Accounts, p.Account.ID)) {
			accounts = append(accounts, p.Account)
		}
	}
	for _, id := range in.fleet.targets.Accounts {
		if !slices.ContainsFunc(accounts, func(a targets.Account) bool { return a.ID == id }) {
			return usagef("--account %s: the run %s did not change that account", id, in.Run)
		}
	}
	if len(accounts) == 0 {
		fmt.Fprintf(c.ErrOrStderr(), "the run %s changed no account: nothing to roll back\n", in.Run)
		return nil
	}
	runDir := in.fleet.RunDir
	if runDir == "" {
		runDir = filepath.Join(".byoc-access", "runs", time.Now().UTC().Format("20060102T150405Z")+"-rollback")
	}
	in.fleet.RunDir = runDir
	r, _, err := in.fleet.runner(ctx, c, rollout.OpRollback, rollout.StateDeployment())
	if err != nil {
		return err
	}
	rep, err := restorer(c, &in.fleet, r, runDir).Rollback(ctx, run.Previous, accounts)
	if err != nil {
		var se *rollout.SpecError
		if errors.As(err, &se) {
			return asUsage(err)
		}
		return err
	}
	return finish(c, &in.fleet, rep, runDir)
}
