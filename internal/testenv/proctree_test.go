package testenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestProcTree: a marked child that starts a CPU-bound grandchild and exits at once (so the
// grandchild is reparented to init, out of reach of a walk of descendants) is measured with
// that grandchild; an unmarked process running at the same time is not.
func TestProcTree(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ProcTree reads /proc")
	}
	done := filepath.Join(t.TempDir(), "done")
	tree := testenv.StartProcTree(20*time.Millisecond, false)

	other := exec.Command("sleep", "2")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	// The grandchild counts to 300,000 in the shell: a few hundred ms of CPU.
	marked := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; : > "$1"' sh "$0" & exit 0`, done)
	marked.Env = append(os.Environ(), tree.Env())
	require.NoError(t, marked.Run())
	require.Eventually(t, func() bool { _, err := os.Stat(done); return err == nil }, 60*time.Second, 20*time.Millisecond)

	u := tree.Stop()
	var names []string
	for _, p := range u.ByName {
		names = append(names, p.Name)
	}
	require.NotContains(t, names, "sleep", "an unmarked process is not part of the tree")
	require.NotContains(t, names, "(this process)", "the measuring process counts only when asked")
	require.Len(t, u.ByName, 1, "only the shells: %v", names)
	sh := u.ByName[0]
	require.GreaterOrEqual(t, sh.Processes, 1, "the reparented grandchild (the child exits too fast to be sure of)")
	require.Greater(t, sh.CPU, 100*time.Millisecond, "the grandchild's CPU is seen")
	require.Greater(t, sh.Wall, 100*time.Millisecond)
	require.Greater(t, u.PeakRSS, int64(0))
	require.Equal(t, u.PeakRSS, sh.PeakRSS)
	require.Equal(t, sh.CPU, u.CPU())
	require.Greater(t, u.Samples, 3)

	self := testenv.StartProcTree(20*time.Millisecond, true)
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	su := self.Stop()
	me := su.Get("(this process)")
	require.Equal(t, 1, me.Processes)
	require.Greater(t, me.CPU, 50*time.Millisecond, "the busy loop above")
	require.Less(t, me.CPU, 10*time.Second, "only CPU spent since the start is counted")
}
