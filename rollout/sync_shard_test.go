package rollout_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestSyncPrunesEachOrphanOnce runs `sync --prune --shard i/4` as the README's four CI
// runners do, over one backend: each reports and offboards only its own shard's orphans, so
// every orphan is destroyed exactly once, not four times at once.
func TestSyncPrunesEachOrphanOnce(t *testing.T) {
	cmd := pulumiCLI(t)
	backend := "file://" + t.TempDir()
	accounts := accountsN(8)
	deploy, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase), rollout.Parallel(4))
	require.NoError(t, err)
	rep, err := deploy.Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 8, rep.Counts.Succeeded, "%+v", rep.Results)

	// The organization now: two accounts still active, three suspended, three gone.
	active := accounts[:2]
	org := append([]targets.Account{}, active...)
	for _, a := range accounts[2:5] {
		a.Status = "SUSPENDED"
		org = append(org, a)
	}
	orphans := map[string]int{}
	for _, a := range accounts[2:] {
		orphans[a.ID] = 1
	}
	var mu sync.Mutex
	destroys := map[string]int{}
	runner := func() *rollout.Runner {
		r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
			rollout.Parallel(2), rollout.OnEvent(func(e rollout.Event) {
				// Only orphans are destroyed here; the active accounts are up to date.
				if e.Type == rollout.EventStarted && orphans[e.Account.ID] > 0 {
					mu.Lock()
					destroys[e.Account.ID]++
					mu.Unlock()
				}
			}))
		require.NoError(t, err)
		return r
	}
	syncShard := func(i int, prune bool) *rollout.SyncReport {
		shard := targets.Shard{Index: i, Count: 4}
		rep, err := runner().Sync(context.Background(), shard.Select(active), org, rollout.SyncOptions{Prune: prune, Shard: shard})
		require.NoError(t, err)
		return rep
	}

	// Without --prune, the shards together report every orphan once.
	reported := map[string]int{}
	for i := 1; i <= 4; i++ {
		for _, o := range syncShard(i, false).Orphans {
			reported[o.AccountID]++
		}
	}
	require.Equal(t, orphans, reported)

	// With --prune, at the same time: each orphan is offboarded by one runner.
	reps := make([]*rollout.SyncReport, 4)
	var wg sync.WaitGroup
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shard := targets.Shard{Index: i + 1, Count: 4}
			r, err := runner().Sync(context.Background(), shard.Select(active), org, rollout.SyncOptions{Prune: true, Shard: shard})
			if err == nil {
				reps[i] = r
			}
		}()
	}
	wg.Wait()
	pruned := map[string]int{}
	for i, rep := range reps {
		require.NotNil(t, rep, "shard %d", i+1)
		for _, o := range rep.Orphans {
			require.True(t, o.Pruned, "%+v", o)
			pruned[o.AccountID]++
		}
	}
	require.Equal(t, orphans, pruned)
	require.Equal(t, orphans, destroys, "each orphan was destroyed exactly once")
	require.ElementsMatch(t, sortedIDs(active), listStacks(t, cmd, backend))
}
