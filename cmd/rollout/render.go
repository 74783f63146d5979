package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/internal/validate"
)

type renderInput struct {
	vendor       vendorFlags
	AccountsFile string
	AccountID    string
	Region       string
	Partition    string
}

func newRenderCmd() *cobra.Command {
	in := &renderInput{}
	c := &cobra.Command{
		Use:   "render --vendor NAME|--spec FILE --account-id ID [--region R] [--param key=value ...]",
		Short: "Print the IAM state the vendor's access would create in an account, as JSON",
		Long: `render runs the real VendorAccess component under Pulumi mocks and prints the roles and
policies it would create in the account: trust policies, boundaries, attachments, documents and
tags. Security teams review this before access is granted; verify compares it with live accounts.
Default KMS keys that the component looks up at deploy time print as key/LOOKUP(alias).

The account's own parameter values come from the same sources as up (--params-file, the
accounts file's param: columns with --accounts-file, --param-from-tag, --param-from-command);
stderr lists them with their source, and secret ones are masked in the output.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runRender(c, in) },
	}
	in.vendor.register(c)
	in.vendor.registerPerAccount(c)
	c.Flags().StringVar(&in.AccountsFile, "accounts-file", "", "accounts file whose param:NAME columns (params: in YAML) and tags give the account's own values")
	c.Flags().StringVar(&in.AccountID, "account-id", "", "target AWS account ID (12 digits)")
	c.Flags().StringVar(&in.Region, "region", "us-east-1", "AWS region of the deployment")
	c.Flags().StringVar(&in.Partition, "partition", "aws", "AWS partition (aws, aws-us-gov, aws-cn)")
	return c
}

func runRender(c *cobra.Command, in *renderInput) error {
	if in.AccountID == "" {
		return usagef("--account-id is required: the 12-digit ID of the account to render for")
	}
	part, err := validate.Region(in.Region)
	if err != nil {
		return usagef("--region: %v", err)
	}
	if err := validate.Partition(in.Partition); err != nil {
		return usagef("--partition: %v", err)
	}
	if part != in.Partition {
		return usagef("--region %s is in partition %s, not --partition %s", in.Region, part, in.Partition)
	}
	spec, _, err := in.vendor.load(c.Context())
	if err != nil {
		return err
	}
	p, err := oneAccountParams(c.Context(), &in.vendor, in.AccountID, in.AccountsFile, in.Region, c.ErrOrStderr())
	if err != nil {
		return err
	}
	params, err := p.given(in.AccountID)
	if err != nil {
		// A command that failed or printed a bad value fails the account, here the whole run.
		return err
	}
	tags, err := in.vendor.tags()
	if err != nil {
		return err
	}
	p.printParams(c.ErrOrStderr())
	state, err := render.Render(spec, render.Options{
		AccountID: in.AccountID,
		Partition: in.Partition,
		Region:    in.Region,
		Params:    params,
		Tags:      tags,
	})
	if err != nil {
		return asUsage(err)
	}
	out, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.OutOrStdout(), string(maskSecrets(out, p.secretValues(params))))
	return err
}
