//go:build !linux

package testenv

import "os/exec"

// dieWithParent is best effort: only Linux can tie a child's life to its parent's.
func dieWithParent(*exec.Cmd) {}
