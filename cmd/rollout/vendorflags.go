package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/vendors"
)

// vendorFlags are the flags that choose a vendor spec and its parameters; every command that
// deploys, renders or verifies takes them.
type vendorFlags struct {
	Vendor   string
	SpecFile string
	Params   []string
	Tags     []string
	// perAccount are the per-account parameter sources, for the commands that take them
	// (registerPerAccount); nil elsewhere.
	perAccount *paramSourceFlags
}

// registerPerAccount adds the per-account parameter flags (--params-file, --param-from-tag,
// --param-from-command, --secret-param) to a command that resolves them.
func (f *vendorFlags) registerPerAccount(c *cobra.Command) {
	f.perAccount = &paramSourceFlags{}
	f.perAccount.register(c)
}

func (f *vendorFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.Vendor, "vendor", "", "embedded vendor preset: "+strings.Join(vendors.PresetNames(), ", "))
	c.Flags().StringVar(&f.SpecFile, "spec", "", "vendor spec file (YAML); instead of --vendor")
	c.Flags().StringArrayVar(&f.Params, "param", nil, "vendor parameter as key=value (repeatable); lists as a,b or JSON")
	c.Flags().StringArrayVar(&f.Tags, "tag", nil, "extra tag key=value for every role and policy (repeatable)")
}

// load returns the spec and its parameters, validated: any problem is a usage error.
func (f *vendorFlags) load(ctx context.Context) (*vendors.VendorSpec, map[string]any, error) {
	if f.Vendor == "" && f.SpecFile == "" {
		return nil, nil, usagef("--vendor or --spec is required: --vendor %s, or --spec FILE", strings.Join(vendors.PresetNames(), "|"))
	}
	if f.Vendor != "" && f.SpecFile != "" {
		return nil, nil, usagef("--vendor and --spec are both set: choose one")
	}
	spec, err := vendors.SelectContext(ctx, f.Vendor, f.SpecFile)
	if err != nil {
		return nil, nil, asUsage(err)
	}
	params, err := parseKeyValues("--param", f.Params)
	if err != nil {
		return nil, nil, err
	}
	given := make(map[string]any, len(params))
	for k, v := range params {
		given[k] = v
	}
	// Resolve once to reject unknown or invalid parameters before anything runs. Where
	// accounts may have their own values, a required parameter may be missing here: each
	// account's values are checked in full once they are known.
	if f.perAccount != nil {
		later := make([]string, len(spec.Parameters))
		for i, p := range spec.Parameters {
			later[i] = p.Name
		}
		if err := spec.CheckParams(given, later); err != nil {
			return nil, nil, asUsage(err)
		}
		return spec, given, nil
	}
	if _, err := spec.ResolveParams(given); err != nil {
		return nil, nil, asUsage(err)
	}
	return spec, given, nil
}

func (f *vendorFlags) tags() (map[string]string, error) {
	return parseKeyValues("--tag", f.Tags)
}

func parseKeyValues(flag string, items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range items {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("%s %q: want key=value", flag, kv)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("%s %s is given twice", flag, k)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// describeParams is the help text of a spec's parameters.
func describeParams(s *vendors.VendorSpec) string {
	var b strings.Builder
	for _, p := range s.Parameters {
		def := ""
		if p.Default != nil {
			def = fmt.Sprintf(" (default %v)", p.Default)
		}
		req := ""
		if p.Required {
			req = " (required)"
		}
		fmt.Fprintf(&b, "  %-38s %-6s%s%s\n      %s\n", p.Name, p.Type, req, def, p.Description)
	}
	return b.String()
}
