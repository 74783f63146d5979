package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
)

type handoffInput struct {
	fleet fleetFlags
	As    string
}

func newHandoffCmd() *cobra.Command {
	in := &handoffInput{}
	c := &cobra.Command{
		Use:   "handoff [filters] [--as table|json|markdown]",
		Short: "Print what to send the vendor: account IDs, role ARNs and external IDs",
		Long: `handoff reads each target account's stack outputs from the state backend and prints what the
vendor needs to assume its roles there: the account, each role ARN, and the external ID. It does
not run the program. Exit 1 when an account has no deployed access yet.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runHandoff(c, in) },
	}
	in.fleet.register(c)
	c.Flags().StringVar(&in.As, "as", "table", "table, json or markdown (--output json means --as json)")
	return c
}

func runHandoff(c *cobra.Command, in *handoffInput) error {
	format := in.As
	if format != "table" && format != "json" && format != "markdown" {
		return usagef("--as %q: use table, json or markdown", in.As)
	}
	if in.fleet.Output == "json" {
		if c.Flags().Changed("as") && format != "json" {
			return usagef("--output json and --as %s conflict: choose one format", format)
		}
		format = "json"
	}
	if err := in.fleet.check(); err != nil {
		return err
	}
	ctx := c.Context()
	r, _, err := in.fleet.runner(ctx, c, rollout.OpStatus, rollout.StateDeployment())
	if err != nil {
		return err
	}
	accounts, err := in.fleet.targetAccounts(ctx)
	if err != nil {
		return err
	}
	hs, rep, err := r.Handoff(ctx, accounts)
	in.fleet.progress.done()
	if err != nil {
		return err
	}
	if err := writeHandoff(c.OutOrStdout(), format, hs); err != nil {
		return err
	}
	var missing []string
	for _, r := range rep.Results {
		if r.Status != rollout.StatusSucceeded || len(r.RoleArns) == 0 {
			missing = append(missing, r.Account.ID)
		}
	}
	if len(missing) > 0 {
		return failedError{msg: fmt.Sprintf("%d of %d accounts have no deployed access yet (`rollout status` says why): %s",
			len(missing), len(rep.Results), strings.Join(missing, ", "))}
	}
	return nil
}

// writeHandoff prints the handoffs in the vendor-facing format: one row per role.
func writeHandoff(out io.Writer, format string, hs []rollout.Handoff) error {
	switch format {
	case "json":
		if hs == nil {
			hs = []rollout.Handoff{}
		}
		return writeJSON(out, hs)
	case "markdown":
		fmt.Fprintln(out, "| Account | Name | Role | Role ARN | External ID |\n|---|---|---|---|---|")
		for _, h := range hs {
			for _, n := range sortedRoleNames(h.RoleArns) {
				fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", h.AccountID, mdCell(h.Name), n, h.RoleArns[n], mdCell(h.ExternalID))
			}
		}
		return nil
	default:
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tROLE\tROLE ARN\tEXTERNAL ID")
		for _, h := range hs {
			for _, n := range sortedRoleNames(h.RoleArns) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.AccountID, h.Name, n, h.RoleArns[n], h.ExternalID)
			}
		}
		return tw.Flush()
	}
}

// mdCell keeps a value inside its markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func sortedRoleNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
