package testenv

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKilledTestProviderLeavesNothing: the test provider killed outright (SIGKILL, as the
// kernel's OOM killer or a lost CI runner does) takes its bridge and the Terraform provider
// the bridge started with it.
func TestKilledTestProviderLeavesNothing(t *testing.T) {
	providerOnce.Do(func() { providerDir, providerErr = installTestProvider() })
	if providerErr != nil {
		Missing(t, "the test provider could not be built: %v", providerErr)
	}
	marker := make([]byte, 8)
	_, _ = rand.Read(marker)
	p := AWSProvider{marker: hex.EncodeToString(marker)}
	t.Cleanup(func() {
		// A failed run must not leave them to the machine.
		for _, l := range p.Leftovers() {
			if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	// Started on its own, as the rollout starts a shared provider: it starts its bridge at once.
	cmd := exec.Command(filepath.Join(providerDir, "pulumi-resource-aws"))
	cmd.Env = append(os.Environ(), markerEnv+"="+p.marker)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	port, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the test provider prints its port first")
	t.Logf("test provider %d serving on port %s", cmd.Process.Pid, strings.TrimSpace(port))

	// The bridge starts the Terraform provider when it is parameterized.
	running := func() (bridge, tf bool) {
		for _, l := range p.Leftovers() {
			if f := strings.Fields(l); len(f) > 1 {
				bridge = bridge || filepath.Base(f[1]) == "pulumi-terraform-bridge"
				tf = tf || filepath.Base(f[1]) == "terraform-provider-aws"
			}
		}
		return bridge, tf
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if bridge, tf := running(); bridge && tf {
			break
		}
		require.True(t, time.Now().Before(deadline), "the bridge and its Terraform provider did not start within 2 minutes: %q", p.Leftovers())
		time.Sleep(200 * time.Millisecond)
	}

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	p.RequireNoLeftovers(t, 10*time.Second)
}
