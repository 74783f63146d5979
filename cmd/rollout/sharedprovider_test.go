package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// countProviderStarts puts a pulumi-resource-aws first on PATH that records each start and
// then becomes the provider the test uses. It returns the count so far.
func countProviderStarts(t *testing.T, f *realFleet) func() int {
	starts := recordProviderStarts(t, f)
	return func() int { return len(starts()) }
}

// recordProviderStarts is countProviderStarts returning each start's arguments: the CLI
// starts a provider with its engine's address, the rollout starts a shared one with none.
func recordProviderStarts(t *testing.T, f *realFleet) func() []string {
	t.Helper()
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	script := fmt.Sprintf("#!/bin/sh\necho \"$$ $*\" >> %q\nexec %q \"$@\"\n", starts, f.provider.Path)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pulumi-resource-aws"), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		b, err := os.ReadFile(starts)
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		var args []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			_, a, _ := strings.Cut(line, " ")
			args = append(args, a)
		}
		return args
	}
}

// TestOneProviderPerWorker: the rollout starts one AWS provider per worker and each account's
// engine attaches to it, instead of the CLI starting one per account; what is deployed is the
// same (verify is clean in every account). A worker whose account failed gets a new provider
// for its next account, and --provider-per-account gives every account its own again.
func TestOneProviderPerWorker(t *testing.T) {
	f := newRealFleet(t, 3)
	started := countProviderStarts(t, f)
	vendor := []string{"--vendor", "streamkap", "--ou", "Root/Workloads"}

	rep := f.report(t, exitOK, append([]string{"up", "--parallel", "1"}, vendor...)...)
	require.Equal(t, 3, rep.Counts.Succeeded, resultsText(rep))
	require.Equal(t, 1, started(), "three accounts one at a time: one provider for all three")
	for _, id := range f.ids {
		f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")
	}
	out, errOut, code := f.run(t, append([]string{"verify", "--output", "json"}, vendor...)...)
	require.Equal(t, exitOK, code, "verify: %s\n%s", out, errOut)
	f.provider.RequireNoLeftovers(t, 10*time.Second)

	// drift refreshes and previews: two providers in one engine, configured alike for an
	// account last updated with this config, so both are the worker's one provider. An account
	// changed out of band is still found.
	before := started()
	out, errOut, code = f.run(t, append([]string{"drift", "--parallel", "1"}, vendor...)...)
	require.Equal(t, exitOK, code, "drift: %s\n%s", out, errOut)
	require.Equal(t, 1, started()-before, "drift: one provider for the three accounts")
	_, err := f.iam(t, f.ids[2]).TagRole(context.Background(), &iam.TagRoleInput{
		RoleName: aws.String("StreamkapInstallAccess"), Tags: []iamtypes.Tag{{Key: aws.String("changed"), Value: aws.String("out-of-band")}}})
	require.NoError(t, err)
	rep = f.report(t, exitFailed, append([]string{"drift", "--parallel", "1"}, vendor...)...)
	for _, r := range rep.Results {
		require.Equal(t, r.Account.ID == f.ids[2], r.Drifted, resultsText(rep))
	}
	f.report(t, exitOK, append([]string{"up", "--parallel", "1", "--refresh"}, vendor...)...)

	// The middle account's stack is locked by another run: its update fails, the provider
	// that served it is stopped, and the last account gets a new one.
	order := make([]string, 0, 3)
	for _, r := range rep.Results {
		order = append(order, r.Account.ID)
	}
	lockStack(t, f, rep.Results[1].Stack)
	before = started()
	rep = f.report(t, exitFailed, append([]string{"up", "--parallel", "1", "--force"}, vendor...)...)
	byID := map[string]rollout.Result{}
	for _, r := range rep.Results {
		byID[r.Account.ID] = r
	}
	require.Equal(t, rollout.StatusSucceeded, byID[order[0]].Status, resultsText(rep))
	require.Equal(t, rollout.StatusFailed, byID[order[1]].Status, resultsText(rep))
	require.Equal(t, rollout.StatusSucceeded, byID[order[2]].Status, resultsText(rep))
	require.Equal(t, 2, started()-before, "a new provider after the failed account")
	unlockStacks(t, f)

	before = started()
	rep = f.report(t, exitOK, append([]string{"up", "--parallel", "1", "--force", "--provider-per-account"}, vendor...)...)
	require.Equal(t, 3, rep.Counts.Succeeded, resultsText(rep))
	require.Equal(t, 3, started()-before, "--provider-per-account: the CLI starts one per account")

	// Providers that cannot be shared: the account that fails on the shared provider succeeds
	// on one of its own, and from then on every account gets its own; nothing fails, and the
	// fallback is not a retry of the account.
	for _, tc := range []struct {
		name, env string
		starts    int
	}{
		// As the Terraform AWS provider with AWS_CA_BUNDLE: shared for the first account, then
		// one of their own for the second (its second attempt) and the third.
		{"cannot be configured twice", "BYOC_TESTPROVIDER_CONFIGURE_ONCE", 3},
		// The shared one the first account failed on, then one per account.
		{"cannot be attached to", "BYOC_TESTPROVIDER_NO_ATTACH", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, "1")
			before := started()
			rep := f.report(t, exitOK, append([]string{"up", "--parallel", "1", "--force"}, vendor...)...)
			require.Equal(t, 3, rep.Counts.Succeeded, resultsText(rep))
			require.Equal(t, tc.starts, started()-before)
			for _, r := range rep.Results {
				require.Equal(t, 1, r.Attempts, "%+v", r)
			}
			f.provider.RequireNoLeftovers(t, 10*time.Second)
		})
	}
}

// TestOneProviderPerWorkerWithACABundle: with AWS_CA_BUNDLE set, as on a machine behind a
// TLS-inspecting proxy, accounts still share their worker's provider. moto serves HTTPS with a
// certificate only the bundle's CA vouches for, so every account's IAM calls verify against
// the bundle, and the Terraform AWS provider, which fails a second configuration with
// AWS_CA_BUNDLE, is configured once per account.
func TestOneProviderPerWorkerWithACABundle(t *testing.T) {
	f := newRealFleet(t, 3, testenv.WithTLS())
	require.NotEmpty(t, f.m.CABundle, "moto serves HTTPS behind its own CA")
	require.True(t, strings.HasPrefix(f.m.Endpoint, "https://"), f.m.Endpoint)
	require.Equal(t, f.m.CABundle, os.Getenv("AWS_CA_BUNDLE"))
	started := recordProviderStarts(t, f)
	vendor := []string{"--vendor", "streamkap", "--ou", "Root/Workloads"}

	rep := f.report(t, exitOK, append([]string{"up", "--parallel", "1"}, vendor...)...)
	requireAll(t, rep, 3, rollout.StatusSucceeded)
	require.Equal(t, []string{""}, started(), "three accounts one at a time: one shared provider, none started by a CLI")
	for _, r := range rep.Results {
		require.Equal(t, 1, r.Attempts, "%+v", r)
	}
	for _, id := range f.ids {
		f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")
	}
	f.provider.RequireNoLeftovers(t, 10*time.Second)

	// A forced re-run reads every account back through the bundle on one provider again.
	rep = f.report(t, exitOK, append([]string{"up", "--parallel", "1", "--force"}, vendor...)...)
	requireAll(t, rep, 3, rollout.StatusSucceeded)
	require.Equal(t, []string{"", ""}, started())
}

// lockStack leaves a lock of another host's run on a stack of the fleet's file backend.
func lockStack(t *testing.T, f *realFleet, stack string) {
	t.Helper()
	dir := filepath.Join(f.stateDir, ".pulumi", "locks", "organization", "byoc-access", stack)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := json.Marshal(map[string]any{"pid": 4242, "username": "ci", "hostname": "another-runner", "timestamp": time.Now()})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "held-by-another-run.json"), b, 0o644))
}

func unlockStacks(t *testing.T, f *realFleet) {
	t.Helper()
	require.NoError(t, os.RemoveAll(filepath.Join(f.stateDir, ".pulumi", "locks")))
}
