package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func TestProgressLinesWhenNotATerminal(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	a, b, c := targets.Account{ID: "111111111111"}, targets.Account{ID: "222222222222"}, targets.Account{ID: "333333333333"}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p.event(rollout.Event{Time: now, Type: rollout.EventFinished, Account: c, Total: 3,
		Result: &rollout.Result{Status: rollout.StatusSucceeded, UpToDate: true}})
	p.event(rollout.Event{Time: now, Type: rollout.EventStarted, Account: a, Total: 3})
	p.event(rollout.Event{Time: now, Type: rollout.EventFinished, Account: a, Total: 3,
		Result: &rollout.Result{Status: rollout.StatusSucceeded, Attempts: 1}})
	p.event(rollout.Event{Time: now, Type: rollout.EventFinished, Account: b, Total: 3,
		Result: &rollout.Result{Status: rollout.StatusFailed, Kind: rollout.KindAssumeRole, Error: "account 222222222222: assume role: AccessDenied"}})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, []string{
		"2026-11-22T12:00:00Z 333333333333 finished succeeded (unchanged, skipped by fingerprint) [1/3]",
		"2026-11-22T12:00:00Z 111111111111 started [1/3]",
		"2026-11-22T12:00:00Z 111111111111 finished succeeded [2/3]",
		"2026-11-22T12:00:00Z 222222222222 finished failed: account 222222222222: assume role: AccessDenied [3/3]",
	}, lines)
	require.Equal(t, 0, p.running)
}
