package rollout_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// spyCLI returns a Pulumi CLI that records, for every child the rollout starts, its arguments,
// its whole environment and the permissions of the passphrase file and its folder, then runs the real
// CLI in the same process (exec), so the child is the CLI itself. It records only when
// BYOC_SPY is set, which the test gives the rollout's children alone.
func spyCLI(t *testing.T) (auto.PulumiCommand, string) {
	t.Helper()
	pulumiCLI(t) // skips without a CLI
	real := os.Getenv("PULUMI_CLI")
	if real == "" {
		if p, err := exec.LookPath("pulumi"); err == nil {
			real = p
		} else {
			real = pulumicli.CachedPath()
		}
	}
	root, spy := t.TempDir(), t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "bin"), 0o755))
	script := `#!/bin/sh
if [ -n "$BYOC_SPY" ]; then
  env > "$BYOC_SPY/env.$$"
  printf '%s\n' "$*" > "$BYOC_SPY/args.$$"
  if [ -n "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
    stat -c '%a' "$PULUMI_CONFIG_PASSPHRASE_FILE" "$(dirname "$PULUMI_CONFIG_PASSPHRASE_FILE")" > "$BYOC_SPY/mode.$$"
  fi
fi
exec '` + real + `' "$@"
`
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "pulumi"), []byte(script), 0o755))
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, SkipVersionCheck: true})
	require.NoError(t, err)
	return cmd, spy
}

// TestPassphraseReachesChildrenAsAFileOnly: the passphrase exported to the rollout (as CI
// does) reaches no CLI child's environment, neither from the rollout nor inherited; each child
// gets PULUMI_CONFIG_PASSPHRASE_FILE, a file only the user can read in a folder only the user
// can enter, and the file is gone when the run ends, interrupted or not.
func TestPassphraseReachesChildrenAsAFileOnly(t *testing.T) {
	cmd, spy := spyCLI(t)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", passphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	dep := stubDeployment("")
	// Secrets make the CLI encrypt, so the run only succeeds if the children read the file.
	dep.SecretConfig = func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:apiToken": "tok-secret-" + a.ID}, nil
	}
	dep.Program = withSeenConfig(dep.Program, "")
	backend := "file://" + t.TempDir()
	r, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
		rollout.Env(map[string]string{"BYOC_SPY": spy}), rollout.Parallel(2))
	require.NoError(t, err)
	accounts := accountsN(2)
	rep, err := r.Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)
	for _, res := range rep.Results {
		require.Equal(t, true, res.Outputs["seen"].(map[string]any)["tokenMatches"], "the secret went through the passphrase file")
	}

	files := spiedChildren(t, spy)
	require.GreaterOrEqual(t, len(files), 4, "stack init, config and up per account")
	for pid, path := range files {
		env, err := os.ReadFile(filepath.Join(spy, "env."+pid))
		require.NoError(t, err)
		require.NotContains(t, string(env), passphrase, "child %s", pid)
		require.NotContains(t, "\n"+string(env), "\nPULUMI_CONFIG_PASSPHRASE=", "child %s", pid)
		require.NotEmpty(t, path, "child %s has no PULUMI_CONFIG_PASSPHRASE_FILE", pid)
		mode, err := os.ReadFile(filepath.Join(spy, "mode."+pid))
		require.NoError(t, err)
		require.Equal(t, "600\n700\n", string(mode), "the file is the user's alone, in a folder of its own")
		require.NoFileExists(t, path, "the file is removed when the run ends")
		require.NoDirExists(t, filepath.Dir(path))
	}

	// An interrupted run removes it too.
	require.NoError(t, os.RemoveAll(spy))
	require.NoError(t, os.Mkdir(spy, 0o700))
	slow := slowDeployment(30 * time.Second)
	slow.SecretConfig = dep.SecretConfig
	dir := t.TempDir()
	r, err = rollout.New(slow, rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir), rollout.Passphrase(passphrase),
		rollout.Env(map[string]string{"BYOC_SPY": spy}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *rollout.Report, 1)
	go func() {
		rep, _ := r.Up(ctx, accountsN(1))
		done <- rep
	}()
	waitFor(t, "the update to start", func() bool { return updateHoldsLock(t, dir, accountsN(1)[0].ID) })
	var path string
	for _, p := range spiedChildren(t, spy) {
		path = p
	}
	require.FileExists(t, path, "the file exists while the run is in progress")
	cancel()
	rep = <-done
	require.True(t, rep.Interrupted)
	require.NoFileExists(t, path, "the file is removed when the run is interrupted")
	require.NoDirExists(t, filepath.Dir(path))
}

// spiedChildren maps each recorded child's pid to its PULUMI_CONFIG_PASSPHRASE_FILE.
func spiedChildren(t *testing.T, spy string) map[string]string {
	t.Helper()
	envs, err := filepath.Glob(filepath.Join(spy, "env.*"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range envs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		pid := strings.TrimPrefix(filepath.Ext(f), ".")
		out[pid] = ""
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PULUMI_CONFIG_PASSPHRASE_FILE="); ok {
				out[pid] = v
			}
		}
	}
	return out
}
