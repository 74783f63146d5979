package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// The bridge and the Terraform provider it starts live in a process group of their own,
// which this binary ends when it stops. Killed outright (SIGKILL), it cannot, and the kernel's
// parent-death signal reaches only a direct child: the Terraform provider, the bridge's child,
// would outlive it. So the group's leader is a guard, this binary run with guardArg, which
// starts the bridge and, when its parent dies (the parent-death signal, SIGTERM), kills the
// whole group, itself included.
const guardArg = "--byoc-testprovider-guard"

// guard runs bin with args in the guard's process group, with the guard's standard streams,
// and returns its exit code; on SIGTERM, SIGINT or SIGHUP it kills the group instead.
func guard(bin string, args []string) int {
	// Before the bridge starts: a signal that comes earlier ends the guard alone, with
	// nothing yet to end.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-resource-aws (byoc-access test provider):", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			return 1
		}
		return 0
	case <-stop:
		_ = syscall.Kill(0, syscall.SIGKILL)
		return 1
	}
}
