package rollout_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
)

// TestOneRunnerRunsConcurrently: runs on one Runner at the same time keep their own state
// (the stacks found at their start, their progress totals), and OnEvent is called one event at
// a time, so a plain slice can collect them. Run under -race to see the difference.
func TestOneRunnerRunsConcurrently(t *testing.T) {
	cmd := pulumiCLI(t)
	var events []rollout.Event // appended without a lock on purpose
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+t.TempDir()),
		rollout.Passphrase(passphrase), rollout.Parallel(2), rollout.OnEvent(func(e rollout.Event) { events = append(events, e) }))
	require.NoError(t, err)
	all := accountsN(5)
	sets := [][]int{{0, 1}, {2, 3, 4}}
	reps := make([]*rollout.Report, len(sets))
	errs := make([]error, len(sets))
	var wg sync.WaitGroup
	for i, set := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			targets := all[set[0] : set[len(set)-1]+1]
			reps[i], errs[i] = r.Up(context.Background(), targets)
		}()
	}
	wg.Wait()
	for i, set := range sets {
		require.NoError(t, errs[i])
		require.Equal(t, len(set), reps[i].Counts.Succeeded, "%+v", reps[i].Results)
	}
	require.Len(t, events, 2*5, "a start and a finish per account")
	for _, e := range events {
		want := 3
		if e.Account.ID == all[0].ID || e.Account.ID == all[1].ID {
			want = 2
		}
		require.Equal(t, want, e.Total, "an event's total is its own run's: %s %s", e.Account.ID, e.Type)
	}
}

// TestWorkersSpreadTheAccountsEvenly: 5 accounts at --parallel 4 take two rounds however
// many run at once, so 3 run at once (3 and 2), not 4 (4 and 1): one provider and one CLI
// fewer at a time, for the same rounds.
func TestWorkersSpreadTheAccountsEvenly(t *testing.T) {
	cmd := pulumiCLI(t)
	var inFlight, most int // OnEvent is called one event at a time
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+t.TempDir()),
		rollout.Passphrase(passphrase), rollout.Parallel(4), rollout.OnEvent(func(e rollout.Event) {
			switch e.Type {
			case rollout.EventStarted:
				inFlight++
				most = max(most, inFlight)
			case rollout.EventFinished:
				inFlight--
			}
		}))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), accountsN(5))
	require.NoError(t, err)
	require.Equal(t, 5, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Equal(t, 3, most, "5 accounts in two rounds: 3 at once")
}
