package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// onceValue is a flag that holds one value and refuses a second: pflag lets the last of
// `--vendor streamkap --vendor datadog` win silently, which deploys what the user did not
// mean. Repeatable flags (string arrays, slices, counts) are left as they are.
type onceValue struct {
	pflag.Value
	name string
	set  bool
}

func (v *onceValue) Set(s string) error {
	if v.set {
		return fmt.Errorf("--%s is given twice: give it once", v.name)
	}
	v.set = true
	return v.Value.Set(s)
}

// singleValueFlags makes every single-value flag of c and its subcommands refuse a second
// value, so no command can forget to.
func singleValueFlags(c *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(*onceValue); done || repeatable(f.Value.Type()) {
			return
		}
		f.Value = &onceValue{Value: f.Value, name: f.Name}
	}
	c.Flags().VisitAll(wrap)
	c.PersistentFlags().VisitAll(wrap)
	for _, sub := range c.Commands() {
		singleValueFlags(sub)
	}
}

func repeatable(typ string) bool {
	return typ == "count" || strings.HasSuffix(typ, "Slice") || strings.HasSuffix(typ, "Array")
}
