package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

type accountsInput struct {
	targets targetFlags
	Output  string
}

func newAccountsCmd() *cobra.Command {
	in := &accountsInput{}
	c := &cobra.Command{
		Use:   "accounts [filters]",
		Short: "List the accounts the filters select, with name, OU path and status",
		Args:  noArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runAccounts(c, in) },
	}
	in.targets.register(c)
	c.Flags().StringVar(&in.Output, "output", "text", "text or json")
	return c
}

func runAccounts(c *cobra.Command, in *accountsInput) error {
	if in.Output != "text" && in.Output != "json" {
		return usagef("--output %q: use text or json", in.Output)
	}
	f := &fleetFlags{targets: in.targets}
	res, err := in.targets.resolve(c.Context(), func() (aws.Config, error) { return f.aws(c.Context()) })
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if in.Output == "json" {
		return writeJSON(out, res)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tSTATUS")
	for _, a := range res.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Name, a.OUPath, a.Status)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(tw, "%s\t%s\t%s\tskipped: %s\n", s.Account.ID, s.Account.Name, s.Account.OUPath, s.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d targets, %d skipped\n", len(res.Targets), len(res.Skipped))
	return nil
}
