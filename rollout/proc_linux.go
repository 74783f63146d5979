package rollout

import "syscall"

// providerProcAttr puts a shared provider in a process group of its own, so that stopping it
// reaches whatever it started, and ends it with the rollout, the only one that could stop it:
// SIGTERM rather than SIGKILL, so that a provider with children of its own (the test
// provider's bridge) ends them too.
func providerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// attachedCLIProcAttr ends a CLI attached to a shared provider at once with the rollout. The
// provider ends with the rollout too, and a CLI that outlived it would see its creates fail
// after IAM may have carried them out, and forget them; killed first, it leaves them as
// pending operations in state, which the next run imports (recover.go).
func attachedCLIProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
