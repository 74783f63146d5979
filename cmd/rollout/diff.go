package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/diff"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/vendors"
)

type diffInput struct {
	From, To  string
	Params    []string
	Tags      []string
	AccountID string
	Region    string
	Partition string
	Output    string
}

func newDiffCmd() *cobra.Command {
	in := &diffInput{}
	c := &cobra.Command{
		Use:   "diff --from PRESET|FILE --to PRESET|FILE [--param key=value ...]",
		Short: "What a change of vendor spec grants and takes away, in IAM terms, with no account involved",
		Long: `diff renders both specs under Pulumi mocks for one account (a placeholder unless
--account-id) and prints what changes from --from to --to: roles and policies created or
deleted, per policy the actions, resources and conditions added and removed (a wildcard that
already covers an action means it adds nothing), statements added or removed whole, trust
principals and conditions, attachments and boundaries. Expansions lint would flag (a new
iam:PassRole, a new wildcard, a new principal) are marked [!].

Each side is a preset name (` + strings.Join(vendors.PresetNames(), ", ") + `) or a spec file (a
path with a / or ending in .yaml, .yml or .json). A --param applies to each side that declares
the parameter.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDiff(c, in) },
	}
	fl := c.Flags()
	fl.StringVar(&in.From, "from", "", "the spec before: a preset name or a spec file")
	fl.StringVar(&in.To, "to", "", "the spec after: a preset name or a spec file")
	fl.StringArrayVar(&in.Params, "param", nil, "vendor parameter as key=value for both sides (repeatable)")
	fl.StringArrayVar(&in.Tags, "tag", nil, "extra tag key=value for every role and policy (repeatable)")
	fl.StringVar(&in.AccountID, "account-id", "000000000000", "account the specs are rendered for")
	fl.StringVar(&in.Region, "region", "us-east-1", "AWS region of the deployment")
	fl.StringVar(&in.Partition, "partition", "aws", "AWS partition")
	fl.StringVar(&in.Output, "output", "text", "text, json or markdown")
	return c
}

func runDiff(c *cobra.Command, in *diffInput) error {
	if in.From == "" || in.To == "" {
		return usagef("--from and --to are both required: a preset name (%s) or a spec file each", strings.Join(vendors.PresetNames(), ", "))
	}
	if !slices.Contains([]string{"text", "json", "markdown"}, in.Output) {
		return usagef("--output %q: use text, json or markdown", in.Output)
	}
	from, err := specOf("--from", in.From)
	if err != nil {
		return err
	}
	to, err := specOf("--to", in.To)
	if err != nil {
		return err
	}
	params, err := parseKeyValues("--param", in.Params)
	if err != nil {
		return err
	}
	for name := range params {
		if !declares(from, name) && !declares(to, name) {
			return usagef("--param %s: neither %s nor %s has a parameter %s", name, in.From, in.To, name)
		}
	}
	tags, err := parseKeyValues("--tag", in.Tags)
	if err != nil {
		return err
	}
	old, err := renderSide("--from", in.From, from, params, tags, in)
	if err != nil {
		return err
	}
	new, err := renderSide("--to", in.To, to, params, tags, in)
	if err != nil {
		return err
	}
	return writeDiff(c.OutOrStdout(), in.Output, in.From, in.To, diff.Compare(old, new))
}

// specOf reads one side: a path when it looks like one, else a preset's name.
func specOf(flag, v string) (*vendors.VendorSpec, error) {
	file := strings.ContainsRune(v, '/') || strings.HasSuffix(v, ".yaml") || strings.HasSuffix(v, ".yml") || strings.HasSuffix(v, ".json")
	var spec *vendors.VendorSpec
	var err error
	if file {
		spec, err = vendors.Select("", v)
	} else {
		spec, err = vendors.Select(v, "")
	}
	if err != nil {
		return nil, usagef("%s %s: %v", flag, v, err)
	}
	return spec, nil
}

func declares(spec *vendors.VendorSpec, name string) bool {
	for _, p := range spec.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}

// renderSide renders one side with the parameters it declares.
func renderSide(flag, name string, spec *vendors.VendorSpec, all, tags map[string]string, in *diffInput) (*iamstate.Account, error) {
	params := map[string]any{}
	for k, v := range all {
		if declares(spec, k) {
			params[k] = v
		}
	}
	if _, err := spec.ResolveParams(params); err != nil {
		return nil, usagef("%s %s: %v", flag, name, err)
	}
	state, err := render.Render(spec, render.Options{AccountID: in.AccountID, Partition: in.Partition, Region: in.Region, Params: params, Tags: tags})
	if err != nil {
		return nil, usagef("%s %s: %v", flag, name, err)
	}
	return state, nil
}

// writeDiff prints one diff: its lines (text), the diff as JSON, or a Markdown diff block.
func writeDiff(w io.Writer, output, from, to string, d *diff.Account) error {
	switch output {
	case "json":
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "markdown":
		return diff.WriteMarkdown(w, diff.Summarize([]*diff.Account{d}))
	}
	if d.Empty() {
		_, err := fmt.Fprintf(w, "no IAM changes from %s to %s\n", from, to)
		return err
	}
	var b strings.Builder
	for _, l := range d.Lines {
		b.WriteString(l.String() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
