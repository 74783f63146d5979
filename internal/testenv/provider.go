package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// ProviderDirEnv names a folder holding the test AWS provider (as
// scripts/install-testprovider.sh prints it); scripts/test.sh sets it so tests need not run
// the script themselves.
const ProviderDirEnv = "BYOC_TEST_PROVIDER_DIR"

// markerEnv carries a value unique to one test into every process the test starts, so that
// the processes it leaves behind can be found.
const markerEnv = "BYOC_TESTENV_MARKER"

// AWSProvider says which AWS provider serves the Pulumi programs a test deploys.
type AWSProvider struct {
	// Real is true for the real pulumi-resource-aws, false for the test provider.
	Real bool
	// Path is the provider binary.
	Path string
	// marker is the value of markerEnv in this test's environment.
	marker string
}

func (p AWSProvider) String() string {
	if p.Real {
		return "the real Pulumi AWS provider plugin at " + p.Path
	}
	return "the byoc-access test provider (the Terraform AWS provider 5.100.0 served through " +
		"pulumi-terraform-bridge's dynamic provider, with pulumi-aws's names) at " + p.Path
}

var (
	providerOnce sync.Once
	providerDir  string
	providerErr  error
)

// UseAWSProvider makes an AWS provider available to the Pulumi CLI processes the test starts
// (directly or through the rollout): the real pulumi-resource-aws where it is installed, else
// the test provider, put first on PATH. The test log says which one served. It sets PATH and a
// process marker with t.Setenv, so the test cannot be parallel; it skips (fails under
// RequireEnv) when neither provider can be had.
func UseAWSProvider(t testing.TB) AWSProvider {
	t.Helper()
	marker := make([]byte, 8)
	_, _ = rand.Read(marker)
	p := AWSProvider{marker: hex.EncodeToString(marker)}
	t.Setenv(markerEnv, p.marker)
	if ok, where := pulumicli.AWSPluginInstalled(); ok {
		p.Real, p.Path = true, where
		t.Logf("AWS provider: %s", p)
		return p
	}
	providerOnce.Do(func() { providerDir, providerErr = installTestProvider() })
	if providerErr != nil {
		Missing(t, "no AWS provider: pulumi-resource-aws is not installed and the test provider could not be built: %v", providerErr)
	}
	t.Setenv("PATH", providerDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	p.Path = filepath.Join(providerDir, "pulumi-resource-aws")
	t.Logf("AWS provider: %s", p)
	return p
}

func installTestProvider() (string, error) {
	if dir := os.Getenv(ProviderDirEnv); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "pulumi-resource-aws")); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ProviderDirEnv, dir, err)
		}
		return dir, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", "install-testprovider.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/install-testprovider.sh: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Leftovers lists the Pulumi CLI and provider processes this test started (through any depth
// of children) that are still running: "PID command line".
func (p AWSProvider) Leftovers() []string {
	var out []string
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	want := []byte(markerEnv + "=" + p.marker + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(cmdline) == 0 {
			continue // a zombie: exited, only not yet reaped
		}
		// Only the CLI and providers count: moto and other helpers the test started on
		// purpose live until its cleanup.
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if base := filepath.Base(exe); !strings.HasPrefix(base, "pulumi") && !strings.HasPrefix(base, "terraform-provider") {
			continue
		}
		out = append(out, e.Name()+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}

// RequireNoLeftovers fails the test when a process it started (a provider, the Terraform
// provider behind the test provider, a CLI) is still running once the grace period is over:
// a rollout must not leave provider processes behind.
//
// except names executables (by the start of their file name) that are only logged: a Pulumi
// language host that its CLI did not stop ends by itself, once its health check finds the
// CLI gone (up to 5 minutes later), which is the CLI's own behaviour, not this project's.
func (p AWSProvider) RequireNoLeftovers(t testing.TB, grace time.Duration, except ...string) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		var left, excepted []string
		for _, l := range p.Leftovers() {
			if exceptedProcess(l, except) {
				excepted = append(excepted, l)
			} else {
				left = append(left, l)
			}
		}
		if len(left) == 0 {
			for _, l := range excepted {
				t.Logf("still running, not counted (ends by itself): %s", l)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes outlived the rollout:\n%s", len(left), strings.Join(left, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exceptedProcess reports whether a Leftovers line ("PID CMDLINE") is of an executable whose
// file name starts with one of except.
func exceptedProcess(line string, except []string) bool {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return false
	}
	base := filepath.Base(fields[1])
	for _, e := range except {
		if strings.HasPrefix(base, e) {
			return true
		}
	}
	return false
}
