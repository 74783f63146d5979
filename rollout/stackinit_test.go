package rollout_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// spiedCommands are the recorded children's command lines.
func spiedCommands(t *testing.T, spy string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(spy, "args.*"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

// TestNewStacksTakeOneStackInit: a run's new stacks cost one `pulumi stack init` in all, not
// one each; the others are copies of its checkpoint under their own names. Each is a stack
// the CLI then updates, re-runs with secrets it decrypts, and destroys and removes.
func TestNewStacksTakeOneStackInit(t *testing.T) {
	cmd, spy := spyCLI(t)
	dep := stubDeployment("")
	// Secrets make the CLI encrypt and decrypt with the stack's secrets provider state: the
	// copied stacks must hold a working one.
	dep.SecretConfig = func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:apiToken": "tok-secret-" + a.ID}, nil
	}
	dep.Program = withSeenConfig(dep.Program, "")
	dir := t.TempDir()
	accounts := accountsN(5)
	run := func(opts ...rollout.Option) *rollout.Runner {
		r, err := rollout.New(dep, append([]rollout.Option{rollout.PulumiCommand(cmd), rollout.Backend("file://" + dir),
			rollout.Passphrase(passphrase), rollout.Env(map[string]string{"BYOC_SPY": spy}), rollout.Parallel(3)}, opts...)...)
		require.NoError(t, err)
		return r
	}
	countInits := func() int {
		n := 0
		for _, c := range spiedCommands(t, spy) {
			if strings.Contains(c, " stack init ") || strings.HasPrefix(c, "stack init ") {
				n++
			}
		}
		return n
	}

	rep, err := run().Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, len(accounts), rep.Counts.Succeeded, "%+v", rep.Results)
	for _, res := range rep.Results {
		require.Equal(t, true, res.Outputs["seen"].(map[string]any)["tokenMatches"], "account %s", res.Account)
	}
	require.Equal(t, 1, countInits(), "one stack init for %d new stacks: %q", len(accounts), spiedCommands(t, spy))

	// Every stack is its own, with its own name, and the CLI's secrets provider state.
	for _, a := range accounts {
		b, err := os.ReadFile(filepath.Join(dir, ".pulumi", "stacks", "byoc-access", a.ID+".json"))
		require.NoError(t, err)
		var vc apitype.VersionedCheckpoint
		require.NoError(t, json.Unmarshal(b, &vc))
		var cp apitype.CheckpointV3
		require.NoError(t, json.Unmarshal(vc.Checkpoint, &cp))
		require.Equal(t, "organization/byoc-access/"+a.ID, string(cp.Stack))
		require.NotNil(t, cp.Latest.SecretsProviders)
		require.Equal(t, "passphrase", cp.Latest.SecretsProviders.Type)
		require.NotEmpty(t, cp.Latest.Resources, "account %s was updated", a.ID)
	}

	// A forced re-run decrypts each stack's secrets and makes no stack.
	rep, err = run(rollout.Force(true)).Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, len(accounts), rep.Counts.Succeeded, "%+v", rep.Results)
	for _, res := range rep.Results {
		require.Equal(t, true, res.Outputs["seen"].(map[string]any)["tokenMatches"], "account %s", res.Account)
	}
	require.Equal(t, 1, countInits())

	rep, err = run(rollout.RemoveStacks(true)).Destroy(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, len(accounts), rep.Counts.Succeeded, "%+v", rep.Results)
	left, err := filepath.Glob(filepath.Join(dir, ".pulumi", "stacks", "byoc-access", "*.json"))
	require.NoError(t, err)
	require.Empty(t, left, "every stack removed")
}
