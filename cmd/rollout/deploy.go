package main

import (
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
)

func init() {
	extraCommands = append(extraCommands,
		func() *cobra.Command { return newDeployCmd(rollout.OpPreview) },
		func() *cobra.Command { return newDeployCmd(rollout.OpUp) },
		func() *cobra.Command { return newDeployCmd(rollout.OpDrift) },
	)
}

type deployInput struct {
	vendor vendorFlags
	fleet  fleetFlags
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
		Use:   string(op) + " --vendor NAME|--spec FILE [--param k=v ...] [filters]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runDeploy(c, op, in) },
	}
	in.vendor.register(c)
	in.fleet.register(c)
	return c
}

func runDeploy(c *cobra.Command, op rollout.Operation, in *deployInput) error {
	ctx := c.Context()
	if err := in.fleet.check(); err != nil {
		return err
	}
	dep, err := vendorDeployment(&in.vendor, in.fleet.targets.Region)
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
	var rep *rollout.Report
	switch op {
	case rollout.OpPreview:
		rep, err = r.Preview(ctx, accounts)
	case rollout.OpDrift:
		rep, err = r.Drift(ctx, accounts)
	default:
		rep, err = r.Up(ctx, accounts)
	}
	if err != nil {
		return err
	}
	return finish(c, &in.fleet, rep, runDir)
}
