package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
)

type statusInput struct {
	fleet fleetFlags
}

func newStatusCmd() *cobra.Command {
	in := &statusInput{}
	c := &cobra.Command{
		Use:   "status [filters]",
		Short: "Show each account's last update, result and outputs, from state",
		Long: `status reads each target account's stack from the state backend: when it was last updated,
with what result, and its role ARNs. It does not run the program. Exit 1 when an account has no
stack or its state cannot be read.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runStatus(c, in) },
	}
	in.fleet.register(c)
	return c
}

func runStatus(c *cobra.Command, in *statusInput) error {
	rep, _, err := readStatus(c, &in.fleet)
	if err != nil {
		return err
	}
	if in.fleet.Output == "json" {
		if err := rep.WriteJSON(c.OutOrStdout()); err != nil {
			return err
		}
		return outcome(rep)
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tSTACK\tLAST UPDATE\tRESULT\tROLES\tERROR")
	for _, r := range rep.Results {
		errText := r.Error
		if r.Kind != "" {
			errText = string(r.Kind) + ": " + errText
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Account.ID, r.Account.Name, r.Account.OUPath, r.Stack, r.LastUpdate, r.LastResult, len(r.RoleArns), errText)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return outcome(rep)
}

func readStatus(c *cobra.Command, f *fleetFlags) (*rollout.Report, string, error) {
	ctx := c.Context()
	if err := f.check(); err != nil {
		return nil, "", err
	}
	r, runDir, err := f.runner(ctx, c, rollout.OpStatus, rollout.StateDeployment())
	if err != nil {
		return nil, "", err
	}
	accounts, err := f.targetAccounts(ctx)
	if err != nil {
		return nil, "", err
	}
	rep, err := r.Status(ctx, accounts)
	f.progress.done()
	return rep, runDir, err
}
