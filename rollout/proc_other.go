//go:build !linux

package rollout

import "syscall"

// providerProcAttr: see proc_linux.go. Without a parent-death signal, a shared provider
// outlives a rollout killed outright until stopped by hand.
func providerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// attachedCLIProcAttr: see proc_linux.go.
func attachedCLIProcAttr() *syscall.SysProcAttr { return nil }
