package diff_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/diff"
)

func doc(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

const (
	account = "111122223333"
	trustA  = `{"Version":"2012-10-17","Statement":[{"Sid":"Vendor","Effect":"Allow","Action":"sts:AssumeRole",
		"Principal":{"AWS":["arn:aws:iam::999988887777:root","arn:aws:iam::999988887777:role/ops"]},
		"Condition":{"StringEquals":{"sts:ExternalId":"o-abc"}}}]}`
	policyA = `{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"arn:aws:s3:::b/*"},
		{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`
)

func state(t *testing.T, trust, policy string, mutate func(*iamstate.Account)) *iamstate.Account {
	boundary := "arn:aws:iam::111122223333:policy/Boundary"
	a := &iamstate.Account{
		AccountID: account,
		Roles: map[string]iamstate.Role{"VendorRole": {
			Path: "/", TrustPolicy: doc(t, trust), MaxSessionDuration: 3600, PermissionsBoundary: &boundary,
			AttachedPolicies: []string{"arn:aws:iam::111122223333:policy/VendorPolicy"}, InlinePolicies: map[string]any{}, Tags: map[string]string{},
		}},
		Policies: map[string]iamstate.Policy{"VendorPolicy": {Path: "/", Document: doc(t, policy), Tags: map[string]string{}}},
	}
	if mutate != nil {
		mutate(a)
	}
	return a
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name          string
		trust, policy string
		mutate        func(*iamstate.Account)
		old           *iamstate.Account
		want          []string
	}{
		{name: "nothing changes", trust: trustA, policy: policyA, want: []string{}},
		{
			name:  "the same document written differently (case, string or list, order) is no change",
			trust: trustA,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Keys","Effect":"Allow","Action":["kms:Decrypt"],"Resource":["arn:aws:kms:us-east-1:111122223333:key/k"]},
				{"Sid":"Read","Effect":"Allow","Action":["ec2:Describe*","s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
			want: []string{},
		},
		{
			name:  "one action added to a statement, and a trust principal removed",
			trust: `{"Version":"2012-10-17","Statement":[{"Sid":"Vendor","Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Condition":{"StringEquals":{"sts:ExternalId":"o-abc"}}}]}`,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:PutBucketPolicy","ec2:Describe*"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`,
			want: []string{
				"role/VendorRole: - principal AWS:arn:aws:iam::999988887777:role/ops",
				"policy/VendorPolicy: + action s3:PutBucketPolicy",
			},
		},
		{
			name:  "a statement without a Sid that gains an action pairs with its old self",
			trust: trustA,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":["s3:GetObject","ec2:Describe*","s3:ListBucket"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`,
			old: state(t, trustA, `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`, nil),
			want: []string{"policy/VendorPolicy: + action s3:ListBucket"},
		},
		{
			name:  "an action a wildcard already grants adds nothing",
			trust: trustA,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","ec2:Describe*","EC2:DescribeInstances"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`,
			want: []string{},
		},
		{
			name:  "a statement added whole is named once, flagged for iam:PassRole",
			trust: trustA,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"},
				{"Sid":"Pass","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/x"}]}`,
			want: []string{
				`policy/VendorPolicy: + statement {"Action":["iam:PassRole"],"Effect":"Allow","Resource":["arn:aws:iam::111122223333:role/x"],"Sid":"Pass"}  [! allows iam:PassRole (privilege escalation, BYOC008)]`,
			},
		},
		{
			name:  "new wildcards: what they cover is not listed as removed",
			trust: trustA,
			policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"Read","Effect":"Allow","Action":["s3:*","ec2:Describe*"],"Resource":"*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}]}`,
			want: []string{
				"policy/VendorPolicy: + action s3:*  [! new wildcard action]",
				"policy/VendorPolicy: + resource *  [! new wildcard resource]",
			},
		},
		{
			name:   "the external ID condition removed and a principal added",
			trust:  `{"Version":"2012-10-17","Statement":[{"Sid":"Vendor","Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::999988887777:root","arn:aws:iam::999988887777:role/ops","arn:aws:iam::444455556666:root"]}}]}`,
			policy: policyA,
			want: []string{
				"role/VendorRole: + principal AWS:arn:aws:iam::444455556666:root  [! new trust principal: it can assume the role]",
				"role/VendorRole: - trust-condition StringEquals sts:ExternalId=o-abc  [! the external ID is no longer required (confused deputy)]",
			},
		},
		{
			name:  "boundary removed, attachment swapped, session longer",
			trust: trustA, policy: policyA,
			mutate: func(a *iamstate.Account) {
				r := a.Roles["VendorRole"]
				r.PermissionsBoundary = nil
				r.AttachedPolicies = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
				r.MaxSessionDuration = 7200
				a.Roles["VendorRole"] = r
			},
			want: []string{
				"role/VendorRole: ~ max-session-duration 3600 s → 7200 s",
				"role/VendorRole: - boundary arn:aws:iam::111122223333:policy/Boundary  [! permissions boundary removed: nothing caps what the role's policies allow]",
				"role/VendorRole: + attachment arn:aws:iam::aws:policy/ReadOnlyAccess",
				"role/VendorRole: - attachment arn:aws:iam::111122223333:policy/VendorPolicy",
			},
		},
		{
			name: "a new account gets every role and policy", trust: trustA, policy: policyA,
			old: &iamstate.Account{AccountID: account},
			want: []string{
				"role/VendorRole: + role",
				"role/VendorRole: + principal AWS:arn:aws:iam::999988887777:role/ops  [! new trust principal: it can assume the role]",
				"role/VendorRole: + principal AWS:arn:aws:iam::999988887777:root  [! new trust principal: it can assume the role]",
				"role/VendorRole: + trust-condition StringEquals sts:ExternalId=o-abc",
				"role/VendorRole: + boundary arn:aws:iam::111122223333:policy/Boundary",
				"role/VendorRole: + attachment arn:aws:iam::111122223333:policy/VendorPolicy",
				"policy/VendorPolicy: + policy",
				`policy/VendorPolicy: + statement {"Action":["ec2:Describe*","s3:GetObject"],"Effect":"Allow","Resource":["arn:aws:s3:::b/*"],"Sid":"Read"}  [! new wildcard action; new wildcard resource]`,
				`policy/VendorPolicy: + statement {"Action":["kms:Decrypt"],"Effect":"Allow","Resource":["arn:aws:kms:us-east-1:111122223333:key/k"],"Sid":"Keys"}`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old
			if old == nil {
				old = state(t, trustA, policyA, nil)
			}
			d := diff.Compare(old, state(t, tc.trust, tc.policy, tc.mutate))
			got := []string{}
			for _, l := range d.Lines {
				got = append(got, l.String())
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSummarize(t *testing.T) {
	changed := func(id string) *iamstate.Account {
		a := state(t, trustA, policyA, func(a *iamstate.Account) {
			a.AccountID = id
			p := a.Policies["VendorPolicy"]
			p.Document = doc(t, `{"Version":"2012-10-17","Statement":[
				{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","ec2:Describe*"],"Resource":"arn:aws:s3:::b/*"},
				{"Sid":"Keys","Effect":"Allow","Action":"kms:Decrypt","Resource":["arn:aws:kms:us-east-1:111122223333:key/k","arn:aws:kms:us-east-1:`+id+`:key/new"]}]}`)
			a.Policies["VendorPolicy"] = p
		})
		return a
	}
	old := func(id string) *iamstate.Account {
		return state(t, trustA, policyA, func(a *iamstate.Account) { a.AccountID = id })
	}
	fleet := diff.Summarize([]*diff.Account{
		diff.Compare(old("111111111111"), changed("111111111111")),
		diff.Compare(old("222222222222"), old("222222222222")),
		diff.Compare(old("333333333333"), changed("333333333333")),
		diff.Compare(nil, old("444444444444")),
	})
	require.Equal(t, 4, fleet.Accounts)
	require.Equal(t, 1, fleet.Unchanged)
	require.Len(t, fleet.Groups, 2)
	require.Equal(t, []string{"111111111111", "333333333333"}, fleet.Groups[0].Accounts)
	require.Equal(t, []diff.Line{{Resource: "policy/VendorPolicy", Op: diff.Added, What: diff.WhatResource, Item: "arn:aws:kms:us-east-1:{account}:key/new"}}, fleet.Groups[0].Lines)
	require.Equal(t, []string{"444444444444"}, fleet.Groups[1].Accounts)
	require.Equal(t, "1 unchanged; 2: +resource arn:aws:kms:us-east-1:{account}:key/new (policy/VendorPolicy); 1: +role (role/VendorRole), +principal AWS:arn:aws:iam::999988887777:role/ops (role/VendorRole), +principal AWS:arn:aws:iam::999988887777:root (role/VendorRole), and 6 more", fleet.String())

	var md bytes.Buffer
	require.NoError(t, diff.WriteMarkdown(&md, fleet))
	require.Contains(t, md.String(), "```diff\n+ policy/VendorPolicy resource arn:aws:kms:us-east-1:{account}:key/new\n```")
	require.Contains(t, md.String(), "#### Change 1: 2 accounts\n\n`111111111111`, `333333333333`")
}
