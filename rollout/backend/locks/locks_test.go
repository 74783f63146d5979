package locks

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestZombieHolderIsGone: a lock whose process has exited but was never collected by its
// parent (what a CLI orphaned by a killed rollout can be for a while) is stale, as is one
// whose process is gone; one whose process runs is not.
func TestZombieHolderIsGone(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)

	child := exec.Command("true")
	require.NoError(t, child.Start())
	zombie := child.Process.Pid
	require.Eventually(t, func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(zombie) + "/stat")
		return err == nil && len(stat) > 0 && zombieState(stat)
	}, 10*time.Second, 10*time.Millisecond, "the child exits and stays uncollected")
	stale, why := Lock{Pid: zombie, Hostname: host}.Stale(0)
	require.True(t, stale, why)
	require.True(t, Lock{Pid: zombie, Hostname: host}.HeldByOneOf(host, map[int]bool{zombie: true}))
	require.NoError(t, child.Wait())
	stale, why = Lock{Pid: zombie, Hostname: host}.Stale(0)
	require.True(t, stale, "collected: %s", why)

	stale, why = Lock{Pid: os.Getpid(), Hostname: host}.Stale(0)
	require.False(t, stale, why)
}

func zombieState(stat []byte) bool {
	for i := len(stat) - 1; i >= 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == 'Z'
		}
	}
	return false
}

// TestReusedPidIsGone: a lock whose pid now belongs to a process that started after the lock
// was taken is stale (pid_max is often 32768, so a busy machine reuses pids within minutes);
// the same process is the holder of a lock taken after it started.
func TestReusedPidIsGone(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	child := exec.Command("sleep", "30")
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	pid := child.Process.Pid

	stale, why := Lock{Pid: pid, Hostname: host, Timestamp: time.Now().Add(-time.Hour)}.Stale(0)
	require.True(t, stale, "a lock an hour older than its pid's process: %s", why)
	require.Contains(t, why, "after the lock was taken")
	require.True(t, Lock{Pid: pid, Hostname: host, Timestamp: time.Now().Add(-time.Hour)}.HeldByOneOf(host, map[int]bool{pid: true}))

	stale, why = Lock{Pid: pid, Hostname: host, Timestamp: time.Now()}.Stale(0)
	require.False(t, stale, "a lock its running process took: %s", why)
	stale, why = Lock{Pid: pid, Hostname: host}.Stale(0)
	require.False(t, stale, "no time on the lock: the running process is the holder: %s", why)
}
