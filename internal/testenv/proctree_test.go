package testenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
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

	// The CLIs are told apart by subcommand (after leading flags: sh -e here, as the
	// Automation API puts --non-interactive first), and providers lose their version suffix.
	dir := t.TempDir()
	shPath, err := exec.LookPath("sh")
	require.NoError(t, err)
	shBytes, err := os.ReadFile(shPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pulumi"), shBytes, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "terraform-provider-aws_v5.100.0_x5"), shBytes, 0o755))
	busy := "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stack"), []byte(busy), 0o644))
	named := testenv.StartProcTree(20*time.Millisecond, false)
	for _, args := range [][]string{{"./pulumi", "-e", "stack", "init", "acct-111122223333", "--stack", "x"}, {"./terraform-provider-aws_v5.100.0_x5", "stack"}} {
		c := exec.Command(args[0], args[1:]...)
		c.Dir, c.Env = dir, append(os.Environ(), named.Env())
		require.NoError(t, c.Run())
	}
	nu := named.Stop()
	require.Equal(t, 1, nu.Get("pulumi stack init").Processes, "%+v", nu.ByName)
	require.Equal(t, 1, nu.Get("terraform-provider-aws").Processes, "%+v", nu.ByName)
	require.Greater(t, nu.Get("terraform-provider-aws").FirstSeen, nu.Get("pulumi stack init").FirstSeen, "started after it")

	// The measuring process itself, when asked: only the CPU it spends from the start.
	self := testenv.StartProcTree(20*time.Millisecond, true)
	start := cpuTime(t)
	for cpuTime(t)-start < 200*time.Millisecond {
	}
	su := self.Stop()
	me := su.Get("(this process)")
	require.Equal(t, 1, me.Processes)
	require.Greater(t, me.CPU, 100*time.Millisecond, "the busy loop above")
	require.Less(t, me.CPU, 10*time.Second, "only CPU spent since the start is counted")
	require.Greater(t, su.Peak.Private, int64(0))
	require.GreaterOrEqual(t, su.PeakRSS, su.Peak.RSS)
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
