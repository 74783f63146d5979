package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/byoc-access/byoc-access/rollout"
)

type destroyInput struct {
	fleet        fleetFlags
	Yes          bool
	RemoveStacks bool
}

func newDestroyCmd() *cobra.Command {
	in := &destroyInput{}
	c := &cobra.Command{
		Use:   "destroy [filters] [--remove-stacks] [--yes]",
		Short: "Offboard: delete the vendor's roles and policies from every target account",
		Args:  noArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runDestroy(c, in) },
	}
	in.fleet.register(c)
	c.Flags().BoolVar(&in.Yes, "yes", false, "do not ask for confirmation")
	c.Flags().BoolVar(&in.RemoveStacks, "remove-stacks", false, "remove each account's stack from the backend after the destroy")
	return c
}

func runDestroy(c *cobra.Command, in *destroyInput) error {
	ctx := c.Context()
	if err := in.fleet.check(); err != nil {
		return err
	}
	if !in.Yes {
		f, ok := c.InOrStdin().(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return usagef("destroy removes the vendor's access from every target account: pass --yes when not running on a terminal")
		}
	}
	r, runDir, err := in.fleet.runner(ctx, c, rollout.OpDestroy, rollout.StateDeployment(), rollout.RemoveStacks(in.RemoveStacks))
	if err != nil {
		return err
	}
	accounts, err := in.fleet.targetAccounts(ctx)
	if err != nil {
		return err
	}
	if !in.Yes {
		fmt.Fprintf(c.ErrOrStderr(), "Remove the vendor's access from %d accounts (state in %s)? Type yes: ", len(accounts), r.Backend())
		answer, _ := bufio.NewReader(c.InOrStdin()).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			return usagef("not confirmed: nothing was changed")
		}
	}
	rep, err := r.Destroy(ctx, accounts)
	if err != nil {
		return err
	}
	return finish(c, &in.fleet, rep, runDir)
}
