package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/plan"
)

const (
	account = "111122223333"
	trust   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::999988887777:root"}}]}`
	doc     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

// steps are a preview's steps for a stack that has the role and policy and changes the policy.
func steps() []rollout.Step {
	urn := "urn:pulumi:111122223333::byoc-access::byoc-access:index:VendorAccess$"
	return []rollout.Step{
		{Op: "same", URN: urn + "aws:iam/role:Role::vendor-role-R", Type: "aws:iam/role:Role",
			Old: map[string]any{"name": "R", "path": "/", "assumeRolePolicy": trust}, New: map[string]any{"name": "R"}},
		{Op: "update", URN: urn + "aws:iam/policy:Policy::vendor-policy-P", Type: "aws:iam/policy:Policy",
			Old: map[string]any{"name": "P", "path": "/", "policy": doc}, New: map[string]any{"name": "P"}},
		{Op: "create", URN: urn + "aws:iam/rolePolicyAttachment:RolePolicyAttachment::vendor-att", Type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
			New: map[string]any{"role": "R"}},
	}
}

func want(t *testing.T, actions string) *iamstate.Account {
	t.Helper()
	a, err := plan.Recorded(account, steps())
	require.NoError(t, err)
	p := a.Policies["P"]
	p.Document = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}}}
	a.Policies["P"] = p
	r := a.Roles["R"]
	r.AttachedPolicies = []string{"arn:aws:iam::111122223333:policy/P"}
	a.Roles["R"] = r
	return a
}

func newAccount(t *testing.T, mutate func(*plan.Inputs)) *plan.Account {
	t.Helper()
	in := plan.Inputs{AccountID: account, Stack: account, Fingerprint: "fp1", Steps: steps(), Want: want(t, "s3:PutObject")}
	in.Live, _ = plan.Recorded(account, steps())
	if mutate != nil {
		mutate(&in)
	}
	a, err := plan.NewAccount(in)
	require.NoError(t, err)
	return a
}

func TestNewAccountReadsTheRecordedState(t *testing.T) {
	a := newAccount(t, nil)
	require.Equal(t, []plan.Operation{
		{Op: "update", URN: steps()[1].URN},
		{Op: "create", URN: steps()[2].URN},
	}, a.Operations)

	// The engine's event order varies; the plan's operations do not.
	s := steps()
	s[1], s[2] = s[2], s[1]
	b := newAccount(t, func(in *plan.Inputs) { in.Steps = s })
	require.Equal(t, a.Operations, b.Operations)
	var lines []string
	for _, l := range a.Diff.Lines {
		lines = append(lines, l.String())
	}
	require.Equal(t, []string{
		"role/R: + attachment arn:aws:iam::111122223333:policy/P",
		"policy/P: + action s3:PutObject",
		"policy/P: - action s3:GetObject",
	}, lines)
}

func TestCheckNamesWhatChanged(t *testing.T) {
	planned := newAccount(t, nil)
	for _, tc := range []struct {
		name   string
		mutate func(*plan.Inputs)
		want   []string
	}{
		{"nothing changed", nil, nil},
		{"parameters", func(in *plan.Inputs) { in.Fingerprint = "fp2"; in.Want = want(t, "s3:*") }, []string{
			"its spec, parameters, program or provider config changed since the plan (the fingerprint differs)",
			"the IAM it would grant differs from the plan's",
		}},
		{"out of band", func(in *plan.Inputs) { in.Live = want(t, "s3:DeleteBucket") }, []string{
			"its live IAM changed since the plan (a change made outside byoc-access)",
		}},
		{"another update ran", func(in *plan.Inputs) {
			s := steps()
			s[1].Op, s[1].Old = "same", map[string]any{"name": "P", "path": "/", "policy": strings.Replace(doc, "GetObject", "PutObject", 1)}
			in.Steps = s
		}, []string{
			"its stack's state changed since the plan (another update ran)",
			"the engine would now do 1 create where the plan says 1 create, 1 update",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := plan.Check(planned, newAccount(t, tc.mutate))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.True(t, plan.IsRefused(err))
			require.Equal(t, tc.want, err.(*plan.RefusedError).Reasons)
		})
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	created := time.Now().Add(-2 * time.Hour)
	p := &plan.Plan{Created: created, Source: "--vendor test"}
	require.NoError(t, plan.Write(dir, p, []*plan.Account{newAccount(t, nil)}))
	got, accounts, err := plan.Read(dir)
	require.NoError(t, err)
	require.Equal(t, []string{account}, got.Accounts)
	require.NoError(t, plan.Check(accounts[account], newAccount(t, nil)))
	require.Equal(t, 0, got.Fleet.Unchanged)
	require.Len(t, got.Fleet.Groups, 1)
	md, err := os.ReadFile(filepath.Join(dir, "plan.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "+ policy/P action s3:PutObject")

	require.NoError(t, got.CheckAge(3*time.Hour, time.Now()))
	require.NoError(t, got.CheckAge(0, time.Now()))
	var stale *plan.StaleError
	require.ErrorAs(t, got.CheckAge(time.Hour, time.Now()), &stale)

	// An edited account file no longer matches the digest.
	file := filepath.Join(dir, "accounts", account+".json")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(b), "s3:PutObject", "s3:*", 1)), 0o644))
	_, _, err = plan.Read(dir)
	var invalid *plan.InvalidError
	require.ErrorAs(t, err, &invalid)
	require.Contains(t, err.Error(), "the plan was edited after it was written")

	_, _, err = plan.Read(t.TempDir())
	require.ErrorAs(t, err, &invalid)
}
