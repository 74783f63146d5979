package main

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/waves"
)

// TestWavesTextOutputNamesTheHalt: the text report of a halted run shows each wave's gates,
// the rollback, and says which wave and gate halted it, exiting 1.
func TestWavesTextOutputNamesTheHalt(t *testing.T) {
	acct := func(id string, st rollout.Status, why string) rollout.Result {
		return rollout.Result{Account: targets.Account{ID: id}, Status: st, Error: why}
	}
	halt := &waves.HaltReason{Wave: 2, WaveName: "2", Gate: waves.GateCommand, Reason: `"check" exited with code 1: acme cannot assume AcmeAccess in 100000000003`}
	out := &waves.Outcome{
		Report: rollout.Combine(rollout.OpUp, time.Now(), nil,
			acct("100000000001", rollout.StatusSucceeded, ""), acct("100000000003", rollout.StatusSucceeded, ""),
			acct("100000000009", rollout.StatusNotStarted, "not started: "+halt.String())),
		Waves: []waves.WaveOutcome{
			{Number: 1, Name: "1", Select: "1", Accounts: []string{"100000000001"}, Status: waves.WavePassed,
				Gates: []waves.GateResult{{Gate: waves.GateFailures, Passed: true, Detail: "0 of 1 accounts failed"}}},
			{Number: 2, Name: "2", Select: "1", Accounts: []string{"100000000003"}, Status: waves.WaveRolledBack,
				Gates: []waves.GateResult{{Gate: waves.GateCommand, Detail: halt.Reason, Accounts: []string{"100000000003"}}}},
			{Number: 3, Name: "3", Select: "rest", Accounts: []string{"100000000009"}, Status: waves.WaveNotStarted},
		},
		Halt:     halt,
		Rollback: rollout.Combine(rollout.OpRollback, time.Now(), nil, acct("100000000003", rollout.StatusSucceeded, "")),
	}
	var stdout bytes.Buffer
	c := &cobra.Command{}
	c.SetOut(&stdout)
	c.SetErr(io.Discard)
	f := &fleetFlags{Output: "text", progress: newProgress(io.Discard)}
	err := finishWaves(c, f, out, "runs/x")
	require.Equal(t, exitFailed, codeOf(err))
	require.Contains(t, err.Error(), "halted: wave 2 failed its command gate: \"check\" exited with code 1: acme cannot assume AcmeAccess in 100000000003; 1 accounts rolled back, 0 failed to")
	for _, want := range []string{
		"wave 1: 1 accounts (1): passed",
		"wave 2: 1 accounts (1): rolled-back",
		"  gate command  FAILED: \"check\" exited with code 1",
		"wave 3: 1 accounts (rest): not-started",
		"rolled back:",
		"not started: wave 2 failed its command gate",
	} {
		require.Contains(t, stdout.String(), want)
	}
}
