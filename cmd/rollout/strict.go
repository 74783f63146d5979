package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// strictValue is a flag value that must be UTF-8 text (a stray byte would reach IAM as
// U+FFFD) and, unless the flag is repeatable, is given once: pflag lets the last of
// `--vendor streamkap --vendor datadog` win silently, which deploys what the user did not
// mean.
type strictValue struct {
	pflag.Value
	name string
	once bool
	set  bool
}

func (v *strictValue) Set(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("--%s is not UTF-8 text", v.name)
	}
	if v.once && v.set {
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

// singleValueFlags makes every flag of c and its subcommands refuse text that is not UTF-8,
// and every single-value flag a second value.
func singleValueFlags(c *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(*strictValue); done {
			return
		}
		f.Value = &strictValue{Value: f.Value, name: f.Name, once: !repeatable(f.Value.Type())}
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
