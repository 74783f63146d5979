package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
)

// TestExitCodesByType: the exit code comes from the error's type, wherever it is wrapped.
func TestExitCodesByType(t *testing.T) {
	noCLI := &pulumicli.NotFoundError{Tried: []string{"/usr/bin/pulumi: version 3.1.0 is older than " + pulumicli.Version}}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"usage", usagef("--parallel 0: want 1 or more"), exitUsage},
		{"wrapped usage", fmt.Errorf("plan: %w", usagef("bad")), exitUsage},
		{"failed accounts", failedError{"2 of 5 accounts failed"}, exitFailed},
		{"no Pulumi CLI", fmt.Errorf("rollout: %w", noCLI), exitUnknown},
		// A command that treats every rollout.New error as bad input still exits 1 for a
		// missing CLI: it is the machine's problem, not the command line's.
		{"no Pulumi CLI taken for usage", asUsage(fmt.Errorf("rollout: %w", noCLI)), exitUnknown},
		{"an account error", &rollout.AccountError{AccountID: "111111111111", Kind: rollout.KindProgram, Reason: "x"}, exitUnknown},
		{"anything else", errors.New("boom"), exitUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, codeOf(tt.err))
		})
	}
}
