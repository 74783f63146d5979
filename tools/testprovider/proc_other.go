//go:build !linux

package main

import "syscall"

// guardProcAttr makes the guard the leader of a new process group. Without a parent-death
// signal outside Linux, a killed test provider leaves the group running.
func guardProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
