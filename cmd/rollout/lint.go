package main

import (
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/vendors/lint"
)

type lintInput struct {
	vendor vendorFlags
	Format string
	Strict bool
}

func newLintCmd() *cobra.Command {
	in := &lintInput{}
	c := &cobra.Command{
		Use:   "lint --vendor NAME|--spec FILE [--param k=v ...] [--format text|json|sarif]",
		Short: "Check a vendor spec's policies: IAM grammar, unknown actions, quotas, escalation, broad trust",
		Long: `lint resolves the spec with its parameters and checks every policy and trust policy against
IAM's grammar, an embedded catalog of every AWS action (` + lint.DefaultCatalog().Source + `),
IAM quotas, and what security reviewers look for first. Errors exit 1 (warnings too with
--strict); up and plan run the same checks and refuse to deploy on errors.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runLint(c, in) },
	}
	in.vendor.register(c)
	c.Flags().StringVar(&in.Format, "format", "text", "text, json or sarif")
	c.Flags().BoolVar(&in.Strict, "strict", false, "exit 1 on warnings too")
	return c
}

func runLint(c *cobra.Command, in *lintInput) error {
	if in.Format != "text" && in.Format != "json" && in.Format != "sarif" {
		return usagef("--format %q: use text, json or sarif", in.Format)
	}
	spec, params, err := in.vendor.load(c.Context())
	if err != nil {
		return err
	}
	fs, err := lint.CheckSpec(spec, params)
	if err != nil {
		return asUsage(err)
	}
	out := c.OutOrStdout()
	switch in.Format {
	case "json":
		err = lint.FormatJSON(out, fs)
	case "sarif":
		file := in.vendor.SpecFile
		if file == "" {
			file = "vendors/presets/" + spec.Name + ".yaml"
		}
		err = lint.FormatSARIF(out, fs, file)
	default:
		err = lint.FormatText(out, fs)
	}
	if err != nil {
		return err
	}
	if lint.HasErrors(fs) {
		return failedError{msg: "lint found errors"}
	}
	if in.Strict {
		for _, f := range fs {
			if f.Severity == lint.Warning {
				return failedError{msg: "lint found warnings (--strict)"}
			}
		}
	}
	return nil
}
