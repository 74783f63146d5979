package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/vendors"
)

func newVendorsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "vendors",
		Short: "List the embedded vendor presets and show their parameters",
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the embedded vendor presets and the versions they reproduce",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tVENDOR\tVERSION\tSOURCE")
			for _, n := range vendors.PresetNames() {
				s, err := vendors.Preset(n)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Vendor, s.Version, s.Source)
			}
			return w.Flush()
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
	c.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the vendor spec format",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := c.OutOrStdout().Write(vendors.SchemaJSON)
			return err
		},
	})
	return c
}
