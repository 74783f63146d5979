package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
)

// TestSecretsProviderFlagBadInput: a --secrets-provider that is not passphrase or a usable
// awskms:// URL is bad input, refused before anything is read or written.
func TestSecretsProviderFlagBadInput(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"bad scheme", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", []string{"--secrets-provider", "unsupported provider", "awskms://"}},
		{"missing key", "awskms://?region=us-east-1", []string{"--secrets-provider", "no KMS key"}},
		{"ARN without the third slash", "awskms://arn:aws:kms:us-east-1:111122223333:key/k1", []string{"--secrets-provider", "awskms:///arn:aws:kms:"}},
		{"unknown parameter", "awskms://alias/byoc?regoin=us-east-1", []string{"--secrets-provider", "unknown parameter regoin"}},
		{"bad region", "awskms://alias/byoc?region=us-east-99x", []string{"--secrets-provider", "region"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			runDir := filepath.Join(t.TempDir(), "run")
			requireUsageError(t, state, tt.want, "up", "--vendor", "streamkap", "--account", "111122223333",
				"--backend", "file://"+state, "--run-dir", runDir, "--secrets-provider", tt.value)
			require.NoDirExists(t, runDir)
		})
	}
}

// TestUpWithKMSSecretsProvider deploys two accounts with --secrets-provider awskms://, a key
// made in moto, and no passphrase anywhere in the environment: the stacks' secrets are
// encrypted by KMS, the fingerprints (keyed with the data key KMS made) make an unchanged
// re-run up to date, a forced one updates the existing stacks, and destroy removes everything.
func TestUpWithKMSSecretsProvider(t *testing.T) {
	f := newRealFleet(t, 2)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE_FILE")
	ctx := context.Background()
	key, err := kms.NewFromConfig(f.m.AWSConfig(t)).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("byoc-access stack secrets")})
	require.NoError(t, err)
	provider := "awskms://" + *key.KeyMetadata.KeyId + "?region=us-east-1&endpoint=" + f.m.Endpoint
	fleet := []string{"--vendor", "streamkap", "--ou", "Root/Workloads", "--secrets-provider", provider}

	rep := f.report(t, exitOK, args([]string{"up"}, fleet)...)
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	for _, id := range f.ids {
		require.NotEmpty(t, f.vendorEntities(t, id))
	}
	checkpoints, err := filepath.Glob(filepath.Join(f.stateDir, ".pulumi", "stacks", "byoc-access", "*.json"))
	require.NoError(t, err)
	require.Len(t, checkpoints, 2)
	for _, path := range checkpoints {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var cp struct {
			Checkpoint struct {
				Latest struct {
					SecretsProviders struct {
						Type  string `json:"type"`
						State struct {
							URL string `json:"url"`
						} `json:"state"`
					} `json:"secrets_providers"`
				} `json:"latest"`
			} `json:"checkpoint"`
		}
		require.NoError(t, json.Unmarshal(b, &cp), path)
		sp := cp.Checkpoint.Latest.SecretsProviders
		require.Equal(t, "cloud", sp.Type, "%s: %s", path, b)
		require.True(t, strings.HasPrefix(sp.State.URL, "awskms://"+*key.KeyMetadata.KeyId), "%s: secrets provider %s", path, sp.State.URL)
	}

	_, errOut, code := f.run(t, "status", "--ou", "Root/Workloads", "--secrets-provider", provider)
	require.Equal(t, exitOK, code, errOut)

	// The data key KMS made is kept in the backend, wrapped.
	require.FileExists(t, filepath.Join(f.stateDir, ".byoc-access", "secrets", "data-key.json"))

	rep = f.report(t, exitOK, args([]string{"up"}, fleet)...)
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	for _, r := range rep.Results {
		require.True(t, r.UpToDate, "account %s: an unchanged re-run is up to date", r.Account.ID)
	}

	// A forced re-run updates the existing stacks in new workspaces: the CLI finds their KMS
	// secrets provider again (from the checkpoint), not the passphrase one.
	rep = f.report(t, exitOK, args([]string{"up", "--force"}, fleet)...)
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	for _, r := range rep.Results {
		require.False(t, r.UpToDate, "account %s: --force runs every account", r.Account.ID)
		require.False(t, changed(r), "account %s: nothing changed, got %v", r.Account.ID, r.Changes)
	}

	rep = f.report(t, exitOK, "destroy", "--remove-stacks", "--yes", "--ou", "Root/Workloads", "--secrets-provider", provider)
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	for _, id := range f.ids {
		require.Empty(t, f.vendorEntities(t, id))
	}

	// A stack made with the passphrase keeps it: with the KMS flag, the account fails naming
	// the provider it has and how to move it, instead of the CLI asking for a passphrase.
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	one := []string{"--vendor", "streamkap", "--account", f.ids[0]}
	rep = f.report(t, exitOK, args([]string{"up"}, one)...)
	requireAll(t, rep, 1, rollout.StatusSucceeded)
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	rep = f.report(t, exitFailed, args([]string{"up", "--force", "--secrets-provider", provider}, one)...)
	requireAll(t, rep, 1, rollout.StatusFailed)
	require.Equal(t, rollout.KindConfig, rep.Results[0].Kind)
	require.Contains(t, rep.Results[0].Error, "encrypts its secrets with the passphrase provider")
	require.Contains(t, rep.Results[0].Error, "pulumi stack change-secrets-provider")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	rep = f.report(t, exitOK, args([]string{"destroy", "--remove-stacks", "--yes"}, one[2:])...)
	requireAll(t, rep, 1, rollout.StatusSucceeded)
}
