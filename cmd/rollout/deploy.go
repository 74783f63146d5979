package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

type deployInput struct {
	vendor vendorFlags
	fleet  fleetFlags
	plan   planFlags
	// waves are up's; unset elsewhere.
	waves waveFlags
}

func newDeployCmd(op rollout.Operation) *cobra.Command {
	in := &deployInput{}
	short := "Deploy the vendor's access into every target account (one stack per account)"
	switch op {
	case rollout.OpPreview:
		short = "Preview every target account: what up would create, update or delete"
	case rollout.OpDrift:
		short = "Refresh each managed account from AWS and preview: any change is drift; exit 1 on drift"
	}
	c := &cobra.Command{
		Use:   string(op) + " --vendor NAME|--spec FILE [--param k=v ...] [--params-file F] [--param-from-tag k=TAG] [--param-from-command k=CMD] [filters]",
		Short: short,
		Args:  noArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runDeploy(c, op, in) },
	}
	in.vendor.register(c)
	in.vendor.registerPerAccount(c)
	in.fleet.register(c)
	in.plan.register(c, op)
	if op == rollout.OpUp {
		in.waves.register(c)
	}
	return c
}

func runDeploy(c *cobra.Command, op rollout.Operation, in *deployInput) error {
	ctx := c.Context()
	if err := in.fleet.check(); err != nil {
		return err
	}
	if err := in.plan.check(&in.vendor, &in.fleet); err != nil {
		return err
	}
	if _, _, err := in.waves.specs(); err != nil {
		return err
	}
	if in.plan.Plan != "" && in.waves.given() {
		// An approved plan is applied as one set of accounts; waves of one plan are not built.
		return usagef("--plan with --wave: apply an approved plan without waves, or plan each wave's accounts on their own")
	}
	if perAccountWanted(&in.vendor, in.fleet.targets.AccountsFile) {
		return runDeployPerAccount(c, op, in)
	}
	// Without per-account sources every account deploys the fleet-wide values, checked in
	// full before anything runs.
	vf := in.vendor
	vf.perAccount = nil
	dep, err := vendorDeployment(ctx, &vf, in.fleet.targets.Region)
	if err != nil {
		return err
	}
	r, runDir, err := in.fleet.runner(ctx, c, op, dep)
	if err != nil {
		return err
	}
	accounts, err := in.fleet.targetAccounts(ctx)
	if err != nil {
		return err
	}
	if op == rollout.OpUp && in.waves.given() {
		return runWaves(c, in, r, runDir, accounts, nil)
	}
	if op == rollout.OpUp {
		if _, err := recordPrevious(ctx, c.ErrOrStderr(), r, runDir, accounts, false); err != nil {
			return err
		}
	}
	rep, err := in.plan.run(ctx, c, r, op, accounts, &in.vendor, &in.fleet, runDir, nil)
	if err != nil {
		return err
	}
	err = finish(c, &in.fleet, rep, runDir)
	in.plan.print(c, &in.fleet)
	return err
}

func runOp(ctx context.Context, r *rollout.Runner, op rollout.Operation, accounts []targets.Account) (*rollout.Report, error) {
	switch op {
	case rollout.OpPreview:
		return r.Preview(ctx, accounts)
	case rollout.OpDrift:
		return r.Drift(ctx, accounts)
	default:
		return r.Up(ctx, accounts)
	}
}

// runDeployPerAccount deploys with each account's own parameter values. Everything that can
// be checked without running a command is checked first (flags, spec, values from files and
// tags, the passphrase); then commands run once per account that needs them, their stderr
// going to the account's log; an account whose command failed or printed a bad value fails
// with that error and nothing is deployed into it, while the others go on.
func runDeployPerAccount(c *cobra.Command, op rollout.Operation, in *deployInput) error {
	ctx := c.Context()
	if _, _, err := in.vendor.load(ctx); err != nil {
		return err
	}
	runDir := in.fleet.RunDir
	if runDir == "" {
		runDir = filepath.Join(".byoc-access", "runs", time.Now().UTC().Format("20060102T150405Z")+"-"+string(op))
		// The runner names its directory the same way; fix it so both use one.
		in.fleet.RunDir = runDir
	}
	// The runner's own checks (passphrase, backend, stack prefix, Pulumi CLI) come before any
	// command runs: the deployment it will get needs the accounts' values, this one does not.
	if _, _, err := in.fleet.runner(ctx, c, op, rollout.StateDeployment()); err != nil {
		return err
	}
	accounts, err := in.fleet.targetAccounts(ctx)
	if err != nil {
		return err
	}
	r, runDir, p, err := perAccountRunner(c, op, &in.vendor, &in.fleet, accounts, runDir)
	if err != nil {
		return err
	}
	if op == rollout.OpUp && in.waves.given() {
		err = runWaves(c, in, r, runDir, accounts, p)
	} else {
		if op == rollout.OpUp {
			if _, err := recordPrevious(ctx, c.ErrOrStderr(), r, runDir, accounts, false); err != nil {
				return err
			}
		}
		var rep *rollout.Report
		if rep, err = in.plan.run(ctx, c, r, op, accounts, &in.vendor, &in.fleet, runDir, p); err != nil {
			return err
		}
		err = finish(c, &in.fleet, rep, runDir)
		in.plan.print(c, &in.fleet)
	}
	if in.fleet.Output != "json" {
		// After the summary, set apart: each account's own values and where they came from.
		var buf bytes.Buffer
		p.printParams(&buf)
		if buf.Len() > 0 {
			fmt.Fprintf(c.OutOrStdout(), "\n%s", buf.String())
		}
	}
	return err
}
