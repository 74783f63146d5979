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
