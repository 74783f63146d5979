package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
)

func init() {
	extraCommands = append(extraCommands, newStatusCmd, newHandoffCmd)
}

type statusInput struct {
	fleet fleetFlags
}

func newStatusCmd() *cobra.Command {
	in := &statusInput{}
	c := &cobra.Command{
		Use:   "status [filters]",
		Short: "Show each account's last update, result and outputs, from state",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rep, _, err := readStatus(c, &in.fleet)
			if err != nil {
				return err
			}
			if in.fleet.Output == "json" {
				return rep.WriteJSON(c.OutOrStdout())
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tNAME\tSTACK\tLAST UPDATE\tRESULT\tROLES\tERROR")
			for _, r := range rep.Results {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Account.ID, r.Account.Name, r.Stack, r.LastUpdate, r.LastResult, len(r.RoleArns), r.Error)
			}
			return tw.Flush()
		},
	}
	in.fleet.register(c)
	return c
}

func readStatus(c *cobra.Command, f *fleetFlags) (*rollout.Report, string, error) {
	ctx := c.Context()
	if err := f.check(); err != nil {
		return nil, "", err
	}
	r, runDir, err := f.runner(ctx, c, rollout.OpStatus, stateDeployment())
	if err != nil {
		return nil, "", err
	}
	accounts, err := f.targetAccounts(ctx)
	if err != nil {
		return nil, "", err
	}
	rep, err := r.Status(ctx, accounts)
	return rep, runDir, err
}

type handoffInput struct {
	fleet fleetFlags
	As    string
}

// Handoff is what the customer sends the vendor for one account.
type Handoff struct {
	AccountID  string            `json:"accountId"`
	Name       string            `json:"name,omitempty"`
	RoleArns   map[string]string `json:"roleArns"`
	ExternalID string            `json:"externalId,omitempty"`
}

func newHandoffCmd() *cobra.Command {
	in := &handoffInput{}
	c := &cobra.Command{
		Use:   "handoff [filters] [--as table|json|markdown]",
		Short: "Print what to send the vendor: account IDs, role ARNs and external IDs",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runHandoff(c, in) },
	}
	in.fleet.register(c)
	c.Flags().StringVar(&in.As, "as", "table", "table, json or markdown")
	return c
}

func runHandoff(c *cobra.Command, in *handoffInput) error {
	if in.As != "table" && in.As != "json" && in.As != "markdown" {
		return usagef("--as %q: use table, json or markdown", in.As)
	}
	rep, _, err := readStatus(c, &in.fleet)
	if err != nil {
		return err
	}
	var hs []Handoff
	var missing []string
	for _, r := range rep.Results {
		if len(r.RoleArns) == 0 {
			missing = append(missing, r.Account.ID)
			continue
		}
		hs = append(hs, Handoff{AccountID: r.Account.ID, Name: r.Account.Name, RoleArns: r.RoleArns, ExternalID: r.ExternalID})
	}
	out := c.OutOrStdout()
	switch in.As {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(hs); err != nil {
			return err
		}
	case "markdown":
		fmt.Fprintln(out, "| Account | Name | Role | Role ARN | External ID |\n|---|---|---|---|---|")
		for _, h := range hs {
			for _, n := range sortedRoleNames(h.RoleArns) {
				fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", h.AccountID, h.Name, n, h.RoleArns[n], h.ExternalID)
			}
		}
	default:
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tROLE\tROLE ARN\tEXTERNAL ID")
		for _, h := range hs {
			for _, n := range sortedRoleNames(h.RoleArns) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.AccountID, h.Name, n, h.RoleArns[n], h.ExternalID)
			}
		}
		_ = tw.Flush()
	}
	if len(missing) > 0 {
		return failedError{msg: fmt.Sprintf("%d accounts have no deployed access yet: %v", len(missing), missing)}
	}
	return nil
}

func sortedRoleNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
