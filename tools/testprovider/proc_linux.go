package main

import "syscall"

// guardProcAttr makes the guard the leader of a new process group, which it kills when this
// process dies (guard.go).
func guardProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
