package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// TestSingleValueFlagsGivenTwice: every single-value flag of every command refuses a second
// value as a usage error before the command runs (so the runs below do nothing else).
func TestSingleValueFlagsGivenTwice(t *testing.T) {
	type flagCase struct {
		cmd  []string
		flag *pflag.Flag
	}
	var cases []flagCase
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Runnable() {
			c.Flags().VisitAll(func(f *pflag.Flag) {
				cases = append(cases, flagCase{path, f})
			})
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRootCmd(), nil)
	require.Greater(t, len(cases), 100, "the walk found the commands' flags")

	single := 0
	for _, fc := range cases {
		if repeatable(fc.flag.Value.Type()) {
			continue
		}
		single++
		name := strings.Join(fc.cmd, " ") + " --" + fc.flag.Name
		t.Run(name, func(t *testing.T) {
			value := fc.flag.DefValue
			if value == "" || value == "[]" {
				value = "x"
			}
			once := []string{"--" + fc.flag.Name + "=" + value}
			if fc.flag.NoOptDefVal != "" { // a bool
				once = []string{"--" + fc.flag.Name}
			}
			args := append(append(append([]string(nil), fc.cmd...), once...), once...)
			_, errOut, code := runCLI(t, args...)
			require.Equal(t, exitUsage, code, "stderr: %s", errOut)
			require.Contains(t, errOut, "--"+fc.flag.Name+" is given twice")
		})
	}
	require.Greater(t, single, 50)
}

// TestStrayArgumentIsUsageError: a positional argument a command does not take exits 2 for
// every command, before it runs.
func TestStrayArgumentIsUsageError(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Runnable() && !c.HasSubCommands() {
			paths = append(paths, path)
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRootCmd(), nil)
	require.Greater(t, len(paths), 10)
	for _, path := range paths {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			extra, want := []string{"111122223333"}, "111122223333"
			if strings.Join(path, " ") == "vendors show" { // takes one: a second is stray
				extra, want = []string{"streamkap", "111122223333"}, "received 2"
			}
			_, errOut, code := runCLI(t, append(append([]string(nil), path...), extra...)...)
			require.Equal(t, exitUsage, code, "stderr: %s", errOut)
			require.Contains(t, errOut, want)
		})
	}
}
