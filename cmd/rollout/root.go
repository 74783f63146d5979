package main

import (
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
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
	// Every command, in one place, in the order help lists them (alphabetical: cobra sorts).
	root.AddCommand(
		newAccountsCmd(),
		newDestroyCmd(),
		newDiffCmd(),
		newDeployCmd(rollout.OpDrift),
		newHandoffCmd(),
		newLintCmd(),
		newDeployCmd(rollout.OpPreview), // plan
		newRenderCmd(),
		newRollbackCmd(),
		newSnapshotCmd(),
		newStatusCmd(),
		newSyncCmd(),
		newUnlockCmd(),
		newDeployCmd(rollout.OpUp),
		newVendorsCmd(),
		newVerifyCmd(),
		newWatchCmd(),
	)
	strictCommands(root)
	return root
}

// noArgs rejects positional arguments as a usage error (exit 2), where cobra.NoArgs' error
// would exit 1: a stray account ID on the command line is a typo, not a failed account.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if c.Flags().Lookup("ou") != nil {
		return usagef("%s takes no arguments, got %q: choose accounts with --account, --ou or --accounts-file", c.CommandPath(), args[0])
	}
	return usagef("%s takes no arguments, got %q (see %s --help)", c.CommandPath(), args[0], c.CommandPath())
}
