package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// runCLI runs the rollout command in-process and returns its output and exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), exitCodeQuiet(err)
}

// exitCodeQuiet is exitCode without printing, for tests.
func exitCodeQuiet(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var fe failedError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &fe):
		return exitFailed
	}
	return exitUnknown
}
