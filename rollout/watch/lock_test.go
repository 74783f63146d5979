package watch_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

// deadPid is the pid of a process of this host that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// A stack lock is taken over only when its holder is certainly dead, by `rollout unlock`'s rule.
func TestTakeOverStaleStackLocks(t *testing.T) {
	host, _ := os.Hostname()
	// A running process's lock is older than the TTL by a TTL of a nanosecond, not by a
	// timestamp from before the process started: that lock is another process's whose pid
	// was reused, and stale (locks.TestReusedPidIsGone).
	tests := []struct {
		name    string
		holder  locks.Lock
		ttl     time.Duration
		removed bool
	}{
		{"process gone from this host", locks.Lock{Pid: deadPid(t), Hostname: host, Timestamp: time.Now()}, 20 * time.Minute, true},
		{"process running on this host, older than the TTL", locks.Lock{Pid: os.Getpid(), Hostname: host, Timestamp: time.Now()}, time.Nanosecond, false},
		{"another host, old", locks.Lock{Pid: 1, Hostname: "other-node", Timestamp: time.Now().Add(-time.Hour)}, 20 * time.Minute, true},
		{"another host, recent", locks.Lock{Pid: 1, Hostname: "other-node", Timestamp: time.Now().Add(-time.Minute)}, 20 * time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := backend.Open(ctx, "file://"+t.TempDir(), aws.Config{})
			require.NoError(t, err)
			b, err := json.Marshal(tc.holder)
			require.NoError(t, err)
			key := ".pulumi/locks/organization/byoc-access/111122223333/0a1b2c.json"
			require.NoError(t, st.Write(ctx, key, b))
			removed, err := watch.TakeOverStaleStackLocks(ctx, st, "byoc-access", "111122223333", tc.ttl)
			require.NoError(t, err)
			_, readErr := st.Read(ctx, key)
			if tc.removed {
				require.Len(t, removed, 1)
				require.True(t, backend.IsNotFound(readErr), "the lock is gone")
			} else {
				require.Empty(t, removed)
				require.NoError(t, readErr, "a live holder's lock is left alone")
			}
		})
	}
}

// A reconcile lock left by a dead worker is taken over; a live one's is not.
func TestReconcileLockTakeover(t *testing.T) {
	ctx := context.Background()
	host, _ := os.Hostname()
	st, err := backend.Open(ctx, "file://"+t.TempDir(), aws.Config{})
	require.NoError(t, err)
	l := &watch.Lock{Store: st, TTL: time.Hour}

	b, _ := json.Marshal(locks.Lock{Pid: deadPid(t), Hostname: host, Timestamp: time.Now()})
	require.NoError(t, st.Write(ctx, watch.ReconcileLockKey, b))
	held, _, err := l.Acquire(ctx)
	require.NoError(t, err)
	require.True(t, held, "a dead worker's lock is taken over")
	held, holder, err := l.Acquire(ctx)
	require.NoError(t, err)
	require.False(t, held, "held by this live process")
	require.Contains(t, holder, host)
	require.NoError(t, l.Release(ctx))
	held, _, err = l.Acquire(ctx)
	require.NoError(t, err)
	require.True(t, held, "released")
}
