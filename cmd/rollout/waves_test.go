package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/waves"
)

// wavesOldSpec is what the fleet has before the change: a read policy and a role trusting the
// vendor's deployer and its support role.
const wavesOldSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: external_id, type: string, required: true, format: externalId, description: Your Acme tenant ID}
policies:
  - id: read
    name: AcmeRead
    path: /acme/
    document:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: ["s3:GetObject"], Resource: ["arn:${partition}:s3:::acme-exports/*"]}
roles:
  - name: AcmeAccess
    maxSessionDuration: 3600
    trust:
      - sid: AllowAcme
        actions: ["sts:AssumeRole"]
        principals: [{type: AWS, identifiers: ["arn:aws:iam::111122223333:role/acme", "arn:aws:iam::111122223333:role/acme-support"]}]
        conditions:
          - {test: StringEquals, variable: "sts:ExternalId", values: "${external_id}"}
    policies:
      - policy: read
`

// wavesNewSpec is the change: one action added to the policy, one trust principal removed.
var wavesNewSpec = strings.NewReplacer(
	`Action: ["s3:GetObject"]`, `Action: ["s3:GetObject", "s3:ListBucket"]`,
	`, "arn:aws:iam::111122223333:role/acme-support"`, ``,
).Replace(wavesOldSpec)

// TestWavesHaltRollBackAndResumeWithRealProvider rolls a spec change out over nine moto member
// accounts in three waves through the real CLI and an AWS provider. Wave 2's gate command
// fails for one of its accounts: the run halts with exit 1 naming the wave and the gate, wave 2
// is rolled back (each account's IAM, read with the SDK, equals the old render; the account
// that had nothing before is offboarded), wave 3 is untouched. Run again once the cause is
// gone, the same command skips wave 1 by fingerprint and completes the rest; then
// `rollout rollback --run` returns every account that run changed to what it had. Then a role
// policy attached out of band in an account of wave 2 makes that wave's verify gate fail, with
// the same halt and rollback, and the same command completes once it is detached. The external
// ID is a secret parameter: the records that keep what was applied hold it only sealed.
func TestWavesHaltRollBackAndResumeWithRealProvider(t *testing.T) {
	f := newRealFleet(t, 9)
	ids := slices.Sorted(slices.Values(f.ids))
	wave1, wave2, wave3 := ids[:2], ids[2:5], ids[5:]
	// An account of wave 2 that had nothing before the change, and the account whose gate
	// check fails.
	fresh, bad := wave2[1], wave2[2]

	dir := t.TempDir()
	oldSpec, newSpec := filepath.Join(dir, "old.yaml"), filepath.Join(dir, "new.yaml")
	writeFile(t, oldSpec, wavesOldSpec)
	writeFile(t, newSpec, wavesNewSpec)
	const extID = "acme-tenant-secret-7"
	vals := []string{"--param", "external_id=" + extID, "--secret-param", "external_id"}
	oldArgs, newArgs := args([]string{"--spec", oldSpec}, vals), args([]string{"--spec", newSpec}, vals)
	// The gate: the vendor's own check that it can assume the role, failing for the accounts
	// listed in a file.
	badFile := filepath.Join(dir, "bad-accounts")
	writeFile(t, badFile, bad+"\n")
	gate := filepath.Join(dir, "vendor-can-assume")
	writeFile(t, gate, "#!/bin/sh\nfor a in \"$@\"; do if grep -qx \"$a\" "+badFile+"; then echo \"acme cannot assume AcmeAccess in $a\" >&2; exit 1; fi; done\necho \"acme assumed AcmeAccess in $BYOC_WAVE_ACCOUNTS\"\n")
	require.NoError(t, os.Chmod(gate, 0o755))

	fleet := []string{"--ou", "Root/Workloads", "--parallel", "3", "--backend", f.backend, "--output", "json"}
	waveArgs := []string{"--wave", "2", "--wave", "3", "--wave", "rest", "--wave-gate", gate, "--on-gate-failure", "rollback"}
	run := func(wantCode int, runDir string, a ...string) (string, string) {
		t.Helper()
		start := time.Now()
		out, errOut, code := runCLI(t, append(a, "--run-dir", runDir)...)
		t.Logf("rollout %s: exit %d in %s", a[0], code, time.Since(start).Round(100*time.Millisecond))
		require.Equal(t, wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
		return out, errOut
	}
	requireOld := func(t *testing.T, accounts ...string) {
		t.Helper()
		for _, id := range accounts {
			f.requireLiveEqualsRender(t, id, oldArgs[:4]...)
		}
		_, errOut, code := runCLI(t, args([]string{"verify", "--spec", oldSpec}, vals, accountFlags(accounts))...)
		require.Equal(t, exitOK, code, "verify against the old spec: %s", errOut)
	}
	requireNew := func(t *testing.T, accounts ...string) {
		t.Helper()
		for _, id := range accounts {
			f.requireLiveEqualsRender(t, id, newArgs[:4]...)
		}
	}
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("the old spec everywhere but one account", func(t *testing.T) {
		var rep rollout.Report
		out, _ := run(exitOK, t.TempDir(), args([]string{"up"}, oldArgs, fleet, []string{"--exclude-account", fresh})...)
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		requireAll(t, &rep, 8, rollout.StatusSucceeded)
	})

	run1 := filepath.Join(t.TempDir(), "run1")
	step("wave 2's gate fails: halt, wave 2 rolled back, wave 3 untouched", func(t *testing.T) {
		out, errOut := run(exitFailed, run1, args([]string{"up"}, newArgs, fleet, waveArgs)...)
		var o waves.Outcome
		require.NoError(t, json.Unmarshal([]byte(out), &o), out)
		require.NotNil(t, o.Halt, errOut)
		require.Equal(t, 2, o.Halt.Wave)
		require.Equal(t, waves.GateCommand, o.Halt.Gate)
		require.Contains(t, o.Halt.Reason, "acme cannot assume AcmeAccess in "+bad)
		require.Contains(t, errOut, "halted: wave 2 failed its command gate")
		require.Equal(t, []waves.WaveStatus{waves.WavePassed, waves.WaveRolledBack, waves.WaveNotStarted},
			[]waves.WaveStatus{o.Waves[0].Status, o.Waves[1].Status, o.Waves[2].Status})
		require.Equal(t, wave1, o.Waves[0].Accounts)
		require.Equal(t, wave2, o.Waves[1].Accounts)
		for _, r := range o.Report.Results {
			if slices.Contains(wave3, r.Account.ID) {
				require.Equal(t, rollout.StatusNotStarted, r.Status)
				require.Contains(t, r.Error, "wave 2 failed its command gate")
			} else {
				require.Equal(t, rollout.StatusSucceeded, r.Status, "%s: %s", r.Account.ID, r.Error)
			}
		}
		require.NotNil(t, o.Rollback)
		requireAll(t, o.Rollback, 3, rollout.StatusSucceeded)

		requireNew(t, wave1...)
		requireOld(t, wave2[0], bad)
		require.Empty(t, f.vendorEntities(t, fresh), "the account that had nothing before is offboarded")
		require.NotContains(t, f.stacks(t), fresh, "and its stack removed")
		requireOld(t, wave3...)
	})

	run2 := filepath.Join(t.TempDir(), "run2")
	step("the cause removed, the same command completes the rest", func(t *testing.T) {
		writeFile(t, badFile, "")
		out, errOut := run(exitOK, run2, args([]string{"up"}, newArgs, fleet, waveArgs)...)
		var o waves.Outcome
		require.NoError(t, json.Unmarshal([]byte(out), &o), out)
		require.Nil(t, o.Halt, errOut)
		for _, r := range o.Report.Results {
			require.Equal(t, rollout.StatusSucceeded, r.Status, "%s: %s", r.Account.ID, r.Error)
			require.Equal(t, slices.Contains(wave1, r.Account.ID), r.UpToDate, "account %s: only wave 1 is skipped by fingerprint", r.Account.ID)
		}
		requireNew(t, ids...)
		_, errOut, code := runCLI(t, args([]string{"verify", "--spec", newSpec, "--ou", "Root/Workloads"}, vals)...)
		require.Equal(t, exitOK, code, errOut)
	})

	step("rollback --run returns every account that run changed", func(t *testing.T) {
		out, errOut := run(exitOK, t.TempDir(), "rollback", "--run", run2, "--backend", f.backend, "--output", "json", "--parallel", "3")
		var rep rollout.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep), errOut)
		require.Equal(t, rollout.OpRollback, rep.Operation)
		requireAll(t, &rep, len(wave2)+len(wave3), rollout.StatusSucceeded)
		requireNew(t, wave1...)
		requireOld(t, wave2[0], bad)
		requireOld(t, wave3...)
		require.Empty(t, f.vendorEntities(t, fresh))
		require.NotContains(t, f.stacks(t), fresh)
	})

	step("an out-of-band change makes wave 2's verify gate fail; removed, the same command completes", func(t *testing.T) {
		ctx := context.Background()
		extra := &iam.AttachRolePolicyInput{RoleName: aws.String("AcmeAccess"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}
		_, err := f.iam(t, wave2[0]).AttachRolePolicy(ctx, extra)
		require.NoError(t, err)

		out, errOut := run(exitFailed, t.TempDir(), args([]string{"up"}, newArgs, fleet, waveArgs)...)
		var o waves.Outcome
		require.NoError(t, json.Unmarshal([]byte(out), &o), out)
		require.NotNil(t, o.Halt, errOut)
		require.Equal(t, 2, o.Halt.Wave)
		require.Equal(t, waves.GateVerify, o.Halt.Gate)
		require.Contains(t, o.Halt.Reason, wave2[0]+": role/AcmeAccess attachment-extra")
		require.Equal(t, []string{wave2[0]}, o.Waves[1].Gates[len(o.Waves[1].Gates)-1].Accounts)
		require.Equal(t, waves.WaveRolledBack, o.Waves[1].Status)
		requireNew(t, wave1...)
		requireOld(t, bad)
		require.Empty(t, f.vendorEntities(t, fresh))
		requireOld(t, wave3...)

		_, err = f.iam(t, wave2[0]).DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: extra.RoleName, PolicyArn: extra.PolicyArn})
		require.NoError(t, err)
		requireOld(t, wave2[0])
		out, errOut = run(exitOK, t.TempDir(), args([]string{"up"}, newArgs, fleet, waveArgs)...)
		o = waves.Outcome{}
		require.NoError(t, json.Unmarshal([]byte(out), &o), out)
		require.Nil(t, o.Halt, errOut)
		requireNew(t, ids...)
	})

	step("records and run directories hold the secret only sealed", func(t *testing.T) {
		var files []string
		for _, root := range []string{filepath.Join(f.stateDir, ".byoc-access"), run1, run2} {
			_ = filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".csv")) {
					files = append(files, path)
				}
				return nil
			})
		}
		require.Contains(t, files, filepath.Join(run1, waves.PreviousFile))
		sealed := 0
		for _, path := range files {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NotContains(t, string(b), extID, path)
			sealed += strings.Count(string(b), `"sealedParams"`)
		}
		require.Positive(t, sealed, "the records keep the parameters, sealed")
	})
}

func accountFlags(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, "--account", id)
	}
	return out
}
