package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

type snapshotInput struct {
	vendor    vendorFlags
	fleet     fleetFlags
	AccountID string
	Direct    bool
}

func newSnapshotCmd() *cobra.Command {
	in := &snapshotInput{}
	c := &cobra.Command{
		Use:   "snapshot --account-id ID --vendor NAME|--spec FILE [--param k=v ...]",
		Short: "Print the live IAM state of the vendor's roles and policies in an account, as render prints it",
		Args:  noArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runSnapshot(c, in) },
	}
	in.vendor.register(c)
	in.vendor.registerPerAccount(c)
	in.fleet.register(c)
	c.Flags().StringVar(&in.AccountID, "account-id", "", "the account to read")
	c.Flags().BoolVar(&in.Direct, "direct", false, "read with the current credentials instead of assuming the execution role")
	return c
}

func runSnapshot(c *cobra.Command, in *snapshotInput) error {
	ctx := c.Context()
	if err := targets.ValidateAccountID(in.AccountID); err != nil {
		return usagef("--account-id: %v", err)
	}
	if err := in.fleet.check(); err != nil {
		return err
	}
	base, err := in.fleet.aws(ctx)
	if err != nil {
		return err
	}
	reader := liveReader{base: base, role: in.fleet.role(), direct: in.Direct}
	vf, err := oneAccountFlags(ctx, &in.vendor, in.AccountID, in.fleet.targets.AccountsFile, in.fleet.targets.Region, c.ErrOrStderr())
	if err != nil {
		return err
	}
	want, err := renderFor(vf, in.AccountID, in.fleet.targets.Region, reader.kmsKeyARN(ctx, in.AccountID))
	if err != nil {
		return err
	}
	got, err := reader.snapshot(ctx, want)
	if err != nil {
		return err
	}
	return writeJSON(c.OutOrStdout(), got)
}

// oneAccountFlags are the vendor flags with one account's own values as --param flags.
func oneAccountFlags(ctx context.Context, vf *vendorFlags, accountID, accountsFile, region string, stderr io.Writer) (*vendorFlags, error) {
	p, err := oneAccountParams(ctx, vf, accountID, accountsFile, region, stderr)
	if err != nil {
		return nil, err
	}
	return p.flagsFor(accountID)
}
