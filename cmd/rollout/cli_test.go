package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
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
	return out.String(), errOut.String(), codeOf(err)
}

// requireUsageError requires a rollout command to fail as bad input (exit 2) whose message
// holds every one of want, with nothing written to the backend folder state.
func requireUsageError(t *testing.T, state string, want []string, args ...string) {
	t.Helper()
	_, errOut, code := runCLI(t, args...)
	require.Equal(t, exitUsage, code, "stderr: %s", errOut)
	for _, w := range want {
		require.Contains(t, errOut, w)
	}
	entries, err := os.ReadDir(state)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing reached the backend")
}
