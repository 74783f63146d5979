package testenv

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child when the test process dies without cleanup.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
