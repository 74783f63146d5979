package testenv

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// CLIProcess returns the pid of a running `pulumi <subcommand>` process that names the stack
// on its command line, or 0: tests kill it to play a lost CI runner.
func CLIProcess(subcommand, stack string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if IsCLIProcess(pid, subcommand, stack) {
			return pid
		}
	}
	return 0
}

// IsCLIProcess says whether pid is a `pulumi <subcommand>` process naming the stack.
func IsCLIProcess(pid int, subcommand, stack string) bool {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	return len(args) > 1 && filepath.Base(args[0]) == "pulumi" && slices.Contains(args, subcommand) && slices.Contains(args, stack)
}
