package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/inputfile"
	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/cfnimport"
)

func newVendorsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "vendors",
		Short: "List the embedded vendor presets and show their parameters",
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the embedded vendor presets, the versions they reproduce and where they were checked",
		Long: `list prints each embedded preset: its name, the vendor, the version of what the vendor
publishes that the preset reproduces, what it grants, and the published source its conformance
test compares it with, statement for statement.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// One block per preset: sources are long, and a table as wide as the longest one
			// would wrap in any terminal.
			out := c.OutOrStdout()
			for i, n := range vendors.PresetNames() {
				s, err := vendors.Preset(n)
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "%s  %s  %s\n", s.Name, s.Vendor, s.Version)
				if s.Description != "" {
					fmt.Fprintf(out, "  %s\n", s.Description)
				}
				fmt.Fprintf(out, "  source: %s\n", s.Source)
			}
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Show a vendor spec's roles, policies and parameters",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := vendors.Preset(args[0])
			if err != nil {
				var ferr error
				if s, ferr = vendors.LoadFile(args[0]); ferr != nil {
					return asUsage(fmt.Errorf("%v\n(as a file: %v)", err, ferr))
				}
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%s (%s) %s\n%s\nsource: %s\n\n", s.Vendor, s.Name, s.Version, s.Description, s.Source)
			fmt.Fprintln(out, "roles:")
			for _, r := range s.Roles {
				fmt.Fprintf(out, "  %s\n", r.Name)
			}
			fmt.Fprintln(out, "policies:")
			for _, p := range s.Policies {
				fmt.Fprintf(out, "  %s\n", p.Name)
			}
			fmt.Fprintf(out, "parameters:\n%s", describeParams(s))
			return nil
		},
	})
	c.AddCommand(newVendorsImportCmd())
	c.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the vendor spec format",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := c.OutOrStdout().Write(vendors.SchemaJSON)
			return err
		},
	})
	return c
}

type importInput struct {
	FromCFN      string
	Name         string
	Vendor       string
	Out          string
	AllowPartial bool
}

func newVendorsImportCmd() *cobra.Command {
	in := &importInput{}
	c := &cobra.Command{
		Use:   "import --from-cfn TEMPLATE --name NAME [-o FILE]",
		Short: "Convert a vendor's CloudFormation template into a vendor spec",
		Long: `import reads a vendor's CloudFormation template (managed policies, roles, trust policies,
inline policies, !Ref, !Sub and !Join between them, parameters, conditions that compare a
parameter with a literal and the resources and ManagedPolicyArns !If that use them, and
!FindInMap with one literal key) and writes a byoc-access vendor spec.
Everything it cannot translate is listed on stderr, and the command exits 1 unless
--allow-partial is given.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runVendorsImport(c, in) },
	}
	c.Flags().StringVar(&in.FromCFN, "from-cfn", "", "CloudFormation template (YAML or JSON)")
	c.Flags().StringVar(&in.Name, "name", "", "short name of the new spec (lower case), e.g. acme")
	c.Flags().StringVar(&in.Vendor, "vendor-name", "", "vendor display name (default: --name)")
	c.Flags().StringVarP(&in.Out, "output", "o", "", "write the spec here instead of stdout")
	c.Flags().BoolVar(&in.AllowPartial, "allow-partial", false, "exit 0 even when parts of the template were not translated")
	return c
}

func runVendorsImport(c *cobra.Command, in *importInput) error {
	if in.FromCFN == "" {
		return usagef("--from-cfn is required: the vendor's CloudFormation template")
	}
	if in.Name == "" {
		return usagef("--name is required: the short name of the new spec, e.g. acme")
	}
	data, err := inputfile.ReadFile(in.FromCFN)
	if err != nil {
		return usagef("--from-cfn: %w", err)
	}
	res, err := cfnimport.Import(in.FromCFN, data, cfnimport.Options{Name: in.Name, Vendor: in.Vendor, Source: in.FromCFN})
	if inputfile.IsLimit(err) {
		return usagef("--from-cfn: %w", err)
	}
	if err != nil {
		return asUsage(err)
	}
	out, err := cfnimport.Marshal(res.Spec)
	if err != nil {
		return err
	}
	// Prove the result loads before handing it over.
	if _, err := vendors.Load(in.Name+".yaml", out); err != nil {
		return fmt.Errorf("the imported spec does not validate (please report this): %w", err)
	}
	if in.Out == "" {
		if _, err := c.OutOrStdout().Write(out); err != nil {
			return err
		}
	} else if err := os.WriteFile(in.Out, out, 0o644); err != nil {
		return err
	}
	if len(res.Issues) == 0 {
		return nil
	}
	fmt.Fprintf(c.ErrOrStderr(), "%d parts of %s were not translated:\n", len(res.Issues), in.FromCFN)
	for _, i := range res.Issues {
		fmt.Fprintf(c.ErrOrStderr(), "  %s\n", i)
	}
	if in.AllowPartial {
		return nil
	}
	return failedError{msg: "import incomplete: review the list above, fix the spec by hand, or pass --allow-partial"}
}
