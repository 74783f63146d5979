package main

import (
	"errors"
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

// strictCommands holds every command under c to the rules of the command line, in one place
// so that no command can forget them: a single-value flag refuses a second value, and a
// positional argument a command does not take is a usage error (exit 2), not cobra's plain
// error (exit 1).
func strictCommands(c *cobra.Command) {
	singleValueFlags(c)
	usageArgs(c)
}

// usageArgs makes each command's argument check a usage error; a runnable command that does
// not say takes no arguments (cobra would pass them to it unread).
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil || (c.Runnable() && !c.HasSubCommands()) {
		if check == nil {
			check = noArgs
		}
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return err
				}
				return usagef("%v (see %s --help)", err, c.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// singleValueFlags makes every single-value flag of c and its subcommands refuse a second
// value.
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
