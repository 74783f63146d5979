package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

type syncInput struct {
	vendor vendorFlags
	fleet  fleetFlags
	Prune  bool
}

func newSyncCmd() *cobra.Command {
	in := &syncInput{}
	c := &cobra.Command{
		Use:   "sync --vendor NAME|--spec FILE [--param k=v ...] [filters] [--prune]",
		Short: "Keep an organization onboarded: deploy new accounts, report (and with --prune offboard) departed ones",
		Long: `sync is meant to run on a schedule. It deploys to every target account (unchanged ones are
skipped by fingerprint, so a quiet organization costs little), and reports stacks whose account
has left the organization or is suspended. Those are offboarded (destroy, then remove the stack)
only with --prune. With --shard i/n each runner reports and prunes only the departed accounts
of its own shard (the same split as the targets), so every stack is offboarded by one runner.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runSync(c, in) },
	}
	in.vendor.register(c)
	// A scheduled sync must deploy each account's own values, as up did: with fleet-wide
	// values only, it would overwrite every account's own external ID.
	in.vendor.registerPerAccount(c)
	in.fleet.register(c)
	c.Flags().BoolVar(&in.Prune, "prune", false, "offboard stacks whose account left the organization or is suspended")
	return c
}

func runSync(c *cobra.Command, in *syncInput) error {
	ctx := c.Context()
	if err := in.fleet.check(); err != nil {
		return err
	}
	if in.fleet.targets.AccountsFile != "" {
		return usagef("sync reads the organization to find departed accounts: it cannot use --accounts-file")
	}
	rep, runDir, err := syncOnce(ctx, c, in)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if in.fleet.Output == "json" {
		if err := writeJSON(out, rep); err != nil {
			return err
		}
	} else {
		printTable(out, rep.Report)
		for _, o := range rep.Orphans {
			state := "kept (pass --prune to offboard)"
			if o.Pruned {
				state = "offboarded"
			} else if o.Error != "" {
				state = "offboarding failed: " + o.Error
			}
			fmt.Fprintf(out, "orphaned stack %s: %s; %s\n", o.Stack, o.Reason, state)
		}
	}
	fmt.Fprintf(c.ErrOrStderr(), "reports and logs: %s\n", runDir)
	if err := outcome(rep.Report); err != nil {
		return err
	}
	for _, o := range rep.Orphans {
		if in.Prune && !o.Pruned {
			return failedError{msg: "some orphaned stacks could not be offboarded"}
		}
	}
	return nil
}

// syncOnce is one sync over the organization with checked flags, without printing: the sync
// command's work, and the full reconcile of watch.
func syncOnce(ctx context.Context, c *cobra.Command, in *syncInput) (*rollout.SyncReport, string, error) {
	perAccount := perAccountWanted(&in.vendor, "")
	vf := in.vendor
	if !perAccount {
		vf.perAccount = nil
	}
	var dep rollout.Deployment
	var err error
	if perAccount {
		if _, _, err := in.vendor.load(ctx); err != nil {
			return nil, "", err
		}
		// The runner's own checks come before any per-account command runs.
		dep = rollout.StateDeployment()
	} else if dep, err = vendorDeployment(ctx, &vf, in.fleet.targets.Region); err != nil {
		return nil, "", err
	}
	r, runDir, err := in.fleet.runner(ctx, c, rollout.OpUp, dep)
	if err != nil {
		return nil, "", err
	}
	res, err := in.fleet.resolve(ctx)
	if err != nil {
		return nil, "", err
	}
	if perAccount {
		in.fleet.RunDir = runDir
		if r, runDir, _, err = perAccountRunner(c, rollout.OpUp, &in.vendor, &in.fleet, res.Targets, runDir); err != nil {
			return nil, "", err
		}
	}
	cfg, err := in.fleet.aws(ctx)
	if err != nil {
		return nil, "", err
	}
	everything, err := targets.Discover(ctx, organizations.NewFromConfig(cfg), targets.Filter{IncludeManagement: true})
	if err != nil {
		return nil, "", fmt.Errorf("list the organization: %w", err)
	}
	org := append([]targets.Account{}, everything.Targets...)
	for _, s := range everything.Skipped {
		org = append(org, s.Account)
	}
	// Each of n runners reports and prunes only its shard's orphans, so an orphan is
	// offboarded once, not n times at once.
	shard, err := targets.ParseShard(in.fleet.Shard)
	if err != nil {
		return nil, "", asUsage(err)
	}
	rep, err := r.Sync(ctx, res.Targets, org, rollout.SyncOptions{Prune: in.Prune, Shard: shard})
	return rep, runDir, err
}
