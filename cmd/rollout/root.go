package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rollout",
		Short: "Grant a BYOC vendor its AWS access, one account or a whole organization at a time",
		Long: `rollout grants a "bring your own cloud" vendor (StreamNative, Streamkap, or any vendor spec)
its IAM access to AWS accounts: one Pulumi stack per member account, deployed, verified and
removed through the Pulumi Automation API.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(
		newRenderCmd(),
		newVendorsCmd(),
	)
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands lets each subcommand file register itself, so commands stay one file each.
var extraCommands []func() *cobra.Command
