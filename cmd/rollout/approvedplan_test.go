package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/plan"
)

// changeSpec is a vendor whose next version (changeSpecNext) adds one action to its policy and
// drops one trust principal: the change a security team approves in TestApprovedPlan.
const changeSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: external_id, type: string, required: true, format: externalId, description: Your Acme tenant ID}
  - {name: buckets, type: list, default: [acme-exports], description: Buckets Acme reads}
locals:
  - {name: bucket_arns, forEach: buckets, format: "arn:${partition}:s3:::${each}/*"}
policies:
  - id: read
    name: AcmeRead
    path: /acme/
    document:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: ["s3:GetObject"], Resource: ["${bucket_arns}"]}
roles:
  - name: AcmeAccess
    trust:
      - sid: AllowAcme
        actions: ["sts:AssumeRole"]
        principals: [{type: AWS, identifiers: ["arn:aws:iam::111122223333:role/acme", "arn:aws:iam::111122223333:role/acme-ops"]}]
        conditions:
          - {test: StringEquals, variable: "sts:ExternalId", values: "${external_id}"}
    policies:
      - policy: read
`

var changeSpecNext = strings.NewReplacer(
	`Action: ["s3:GetObject"]`, `Action: ["s3:GetObject", "s3:GetObjectVersion"]`,
	`, "arn:aws:iam::111122223333:role/acme-ops"]`, `]`,
).Replace(changeSpec)

// TestApprovedPlan plans a spec change over several accounts through the real provider in
// moto, and applies the saved plan exactly: refused as a whole after a parameter change,
// refused for the one account changed out of band and for an account that joined after the
// plan (each left as it was, read with the SDK), applied in the others.
func TestApprovedPlan(t *testing.T) {
	f := newRealFleet(t, 3)
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "acme-v1.yaml"), filepath.Join(dir, "acme-v2.yaml")
	require.NoError(t, os.WriteFile(v1, []byte(changeSpec), 0o600))
	require.NoError(t, os.WriteFile(v2, []byte(changeSpecNext), 0o600))
	ou := []string{"--ou", "Root/Workloads", "--parallel", "2"}
	params := []string{"--param", "external_id=acme-tenant-7"}
	before := args([]string{"--spec", v1}, params)
	after := args([]string{"--spec", v2}, params)

	rep := f.report(t, exitOK, args([]string{"up"}, before, ou)...)
	requireAll(t, rep, len(f.ids), rollout.StatusSucceeded)

	planDir := filepath.Join(dir, "plan")
	rep = f.report(t, exitOK, args([]string{"plan", "--out", planDir}, after, ou)...)
	requireAll(t, rep, len(f.ids), rollout.StatusSucceeded)
	approved, accounts, err := plan.Read(planDir)
	require.NoError(t, err)
	require.ElementsMatch(t, f.ids, approved.Accounts)
	for _, id := range f.ids {
		var lines []string
		for _, l := range accounts[id].Diff.Lines {
			lines = append(lines, l.String())
		}
		require.Equal(t, []string{
			"role/AcmeAccess: - principal AWS:arn:aws:iam::111122223333:role/acme-ops",
			"policy/AcmeRead: + action s3:GetObjectVersion",
		}, lines, "account %s", id)
	}
	require.Equal(t, "0 unchanged; 3: -principal AWS:arn:aws:iam::111122223333:role/acme-ops (role/AcmeAccess), +action s3:GetObjectVersion (policy/AcmeRead)", approved.Fleet.String())
	md, err := os.ReadFile(filepath.Join(planDir, "plan.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "```diff\n- role/AcmeAccess principal AWS:arn:aws:iam::111122223333:role/acme-ops\n+ policy/AcmeRead action s3:GetObjectVersion\n```")

	live := func() map[string]any {
		out := map[string]any{}
		for _, id := range f.ids {
			out[id] = f.liveAcme(t, id)
		}
		return out
	}
	untouched := live()

	t.Run("refused after a parameter change, nothing changed", func(t *testing.T) {
		rep := f.report(t, exitFailed, args([]string{"up", "--plan", planDir}, after, []string{"--param", "buckets=acme-other"}, ou)...)
		requireAll(t, rep, len(f.ids), rollout.StatusFailed)
		for _, r := range rep.Results {
			require.Equal(t, rollout.KindRefused, r.Kind)
			require.Contains(t, r.Error, "its spec, parameters, program or provider config changed since the plan")
		}
		require.Equal(t, untouched, live())
	})

	t.Run("refused when older than --plan-max-age", func(t *testing.T) {
		_, errOut, code := f.run(t, args([]string{"up", "--plan", planDir, "--plan-max-age", "1ns"}, after, ou)...)
		require.Equal(t, exitFailed, code)
		require.Contains(t, errOut, "more than --plan-max-age 1ns")
		require.Equal(t, untouched, live())
	})

	changedOOB, joined := f.ids[0], ""
	t.Run("refused for an account changed out of band and one not in the plan; the others applied", func(t *testing.T) {
		ctx := context.Background()
		_, err := f.iam(t, changedOOB).UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("AcmeAccess"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"AllowAcme","Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::444455556666:root"}}]}`)})
		require.NoError(t, err)
		oob := f.liveAcme(t, changedOOB)
		joined = f.addMember(t, "late-joiner", "Root/Workloads")

		rep := f.report(t, exitFailed, args([]string{"up", "--plan", planDir}, after, ou)...)
		require.Len(t, rep.Results, len(f.ids)+1, resultsText(rep))
		for _, r := range rep.Results {
			switch r.Account.ID {
			case changedOOB:
				require.Equal(t, rollout.KindRefused, r.Kind, r.Error)
				require.Contains(t, r.Error, "its live IAM changed since the plan")
			case joined:
				require.Equal(t, rollout.KindRefused, r.Kind, r.Error)
				require.Contains(t, r.Error, "the account is not in the plan")
			default:
				require.Equal(t, rollout.StatusSucceeded, r.Status, "%s: %s", r.Kind, r.Error)
				f.requireLiveEqualsRender(t, r.Account.ID, after...)
			}
		}
		require.Equal(t, oob, f.liveAcme(t, changedOOB), "the refused account is as the out-of-band change left it")
		require.Empty(t, f.vendorEntities(t, joined), "nothing was created in the account not in the plan")
	})

	t.Run("a fresh plan of the changed account applies exactly", func(t *testing.T) {
		again := filepath.Join(dir, "plan-again")
		one := []string{"--account", changedOOB}
		f.report(t, exitOK, args([]string{"plan", "--out", again}, after, one)...)
		rep := f.report(t, exitOK, args([]string{"up", "--plan", again}, after, one)...)
		requireAll(t, rep, 1, rollout.StatusSucceeded)
		f.requireLiveEqualsRender(t, changedOOB, after...)

		// Planned again, the account has nothing left to change: what its stack records and
		// the render read alike.
		done := filepath.Join(dir, "plan-done")
		f.report(t, exitOK, args([]string{"plan", "--out", done}, after, one)...)
		p, _, err := plan.Read(done)
		require.NoError(t, err)
		require.Equal(t, "1 unchanged", p.Fleet.String())
	})
}

// liveAcme is the account's Acme role and policy read with the SDK, as plain JSON values.
func (f *realFleet) liveAcme(t *testing.T, accountID string) any {
	t.Helper()
	got, err := snapshot.Take(context.Background(), f.iam(t, accountID), accountID, snapshot.Names{Roles: []string{"AcmeAccess"}, Policies: []string{"AcmeRead"}})
	require.NoError(t, err)
	return testenv.NormalisedIAM(t, got)
}

// addMember creates a member account in an OU, as an account joining the organization does.
func (f *realFleet) addMember(t *testing.T, name, ou string) string {
	t.Helper()
	id := testenv.AddAccounts(t, f.m, name, 1)[0]
	_, err := organizations.NewFromConfig(f.m.AWSConfig(t)).MoveAccount(context.Background(), &organizations.MoveAccountInput{
		AccountId: aws.String(id), SourceParentId: aws.String(f.org.RootID), DestinationParentId: aws.String(f.org.OUs[ou]),
	})
	require.NoError(t, err)
	return id
}

// TestApprovedPlanBadInput: a plan that cannot be used as it is stops up before any account is
// looked at; one that is only too old is refused.
func TestApprovedPlanBadInput(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	require.NoError(t, plan.Write(old, &plan.Plan{Created: time.Now().Add(-48 * time.Hour)}, nil))
	edited := filepath.Join(dir, "edited")
	require.NoError(t, plan.Write(edited, &plan.Plan{Created: time.Now()}, nil))
	b, err := os.ReadFile(filepath.Join(edited, "plan.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(edited, "plan.json"), []byte(strings.Replace(string(b), `"accounts": []`, `"accounts": ["111122223333"]`, 1)), 0o644))
	accounts := filepath.Join(dir, "accounts.csv")
	require.NoError(t, os.WriteFile(accounts, []byte("id,name\n111122223333,a\n"), 0o600))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no plan there", []string{"--plan", filepath.Join(dir, "none")}, exitUsage, "--plan " + filepath.Join(dir, "none") + ": no plan.json"},
		{"edited", []string{"--plan", edited}, exitUsage, "accounts/111122223333.json"},
		{"too old", []string{"--plan", old}, exitFailed, "more than --plan-max-age 24h0m0s"},
		{"with --refresh", []string{"--plan", old, "--refresh"}, exitUsage, "--plan with --refresh or --force"},
		{"negative age", []string{"--plan", old, "--plan-max-age", "-1h"}, exitUsage, "--plan-max-age -1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"up", "--vendor", "streamkap", "--accounts-file", accounts, "--backend", "file://" + dir}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}

// TestPlanOfAppliedPresetIsUnchanged: after up, a plan of the same preset reads unchanged, so
// what the stack records (the provider's inputs, KMS keys looked up at deploy time) and the
// render for the account (KMS keys read in the account) agree, and a plan names only real
// changes.
func TestPlanOfAppliedPresetIsUnchanged(t *testing.T) {
	f := newRealFleet(t, 1)
	sn := []string{"--vendor", "streamnative", "--param", "external_id=o-abcde", "--account", f.ids[0]}
	f.report(t, exitOK, args([]string{"up"}, sn)...)
	out := filepath.Join(t.TempDir(), "plan")
	f.report(t, exitOK, args([]string{"plan", "--out", out}, sn)...)
	p, accounts, err := plan.Read(out)
	require.NoError(t, err)
	require.Equal(t, "1 unchanged", p.Fleet.String(), "%v", accounts[f.ids[0]].Diff.Lines)
	require.Empty(t, accounts[f.ids[0]].Operations)
	// Not only no change in IAM terms (a wildcard can cover a different ARN): the same state.
	require.Equal(t, accounts[f.ids[0]].StateDigest, plan.Digest(accounts[f.ids[0]].Want))
}
