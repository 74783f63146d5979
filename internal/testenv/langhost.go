package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// LanguageHostsDirEnv names a folder holding the language hosts scripts/install-language-hosts.sh
// builds (pulumi-language-go, -nodejs, -yaml); scripts/test.sh sets it so tests need not run the
// script themselves.
const LanguageHostsDirEnv = "BYOC_LANGUAGE_HOSTS_DIR"

var (
	hostsOnce sync.Once
	hostsDir  string
	hostsErr  error
)

// UseLanguageHost makes the Pulumi language host for runtime ("go", "nodejs", "yaml") available
// to the CLI processes the test starts, and returns its path. It looks where the CLI does: on
// PATH, then beside the CLI binary (where the official archive installs them); only when
// neither has one does it put the host scripts/install-language-hosts.sh built first on PATH,
// with t.Setenv, so the test cannot be parallel. The test log names the host that serves. A
// host that cannot be had skips the test (fails under RequireEnv).
func UseLanguageHost(t testing.TB, runtime string) string {
	t.Helper()
	name := "pulumi-language-" + runtime
	if p, err := exec.LookPath(name); err == nil {
		how := "on PATH"
		if hostsDir != "" && filepath.Dir(p) == hostsDir {
			// An earlier call of this test put the built hosts on PATH.
			how = "built by scripts/install-language-hosts.sh: the CLI has none beside it"
		}
		t.Logf("language host %s: %s (%s)", runtime, p, how)
		return p
	}
	cli, err := pulumicli.FindPath()
	if err != nil {
		Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	if real, err := filepath.EvalSymlinks(cli); err == nil {
		if p := filepath.Join(filepath.Dir(real), name); isExecutable(p) {
			t.Logf("language host %s: %s (beside the CLI)", runtime, p)
			return p
		}
	}
	hostsOnce.Do(func() { hostsDir, hostsErr = installLanguageHosts() })
	if hostsErr != nil {
		Missing(t, "no %s: the CLI at %s has none beside it and scripts/install-language-hosts.sh failed: %v", name, cli, hostsErr)
	}
	p := filepath.Join(hostsDir, name)
	if !isExecutable(p) {
		Missing(t, "no %s: the CLI at %s has none beside it, and scripts/install-language-hosts.sh could not build it "+
			"(its log says why; run it by hand)", name, cli)
	}
	t.Setenv("PATH", hostsDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Logf("language host %s: %s (built by scripts/install-language-hosts.sh: the CLI at %s has none beside it)", runtime, p, cli)
	return p
}

func installLanguageHosts() (string, error) {
	if dir := os.Getenv(LanguageHostsDirEnv); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%s=%s is not a folder", LanguageHostsDirEnv, dir)
		}
		return dir, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", "install-language-hosts.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/install-language-hosts.sh: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
