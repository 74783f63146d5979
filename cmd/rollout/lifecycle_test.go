package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// StreamNative with explicit KMS keys, so render needs no lookup and prints exact ARNs.
var streamNativeArgs = []string{"--vendor", "streamnative", "--param", "external_id=o-abcde",
	"--param", "ebs_kms_key_arns=arn:aws:kms:us-east-1:111122223333:key/ebs-shared",
	"--param", "s3_kms_key_arns=arn:aws:kms:us-east-1:111122223333:key/s3-shared"}

func args(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// requireAll requires every account of a report to have the status, and returns the report.
func requireAll(t *testing.T, rep *rollout.Report, n int, status rollout.Status) {
	t.Helper()
	require.Len(t, rep.Results, n, resultsText(rep))
	for _, r := range rep.Results {
		require.Equal(t, status, r.Status, "account %s: %s %s", r.Account.ID, r.Kind, r.Error)
	}
}

func changed(r rollout.Result) bool {
	for op, n := range r.Changes {
		if op != "same" && n > 0 {
			return true
		}
	}
	return false
}

// lifecycleAccounts is the organization's size: at least 10, in nested OUs.
const lifecycleAccounts = 10

// TestLifecycleWithRealProvider runs the main job for real: the real program through the
// real CLI and an AWS provider into the member accounts of a moto organization in nested OUs,
// from plan to offboarding, checking each step against the accounts' IAM read with the SDK.
func TestLifecycleWithRealProvider(t *testing.T) {
	f := newRealFleet(t, lifecycleAccounts)
	n := len(f.ids)
	ou := []string{"--ou", "Root/Workloads", "--parallel", "4"}
	specFile := filepath.Join(t.TempDir(), "acme.yaml")
	require.NoError(t, os.WriteFile(specFile, []byte(testenv.AcmeSpec), 0o600))
	acmeArgs := []string{"--spec", specFile, "--param", "external_id=acme-tenant-7", "--stack-prefix", "acme-"}
	streamkapArgs := []string{"--vendor", "streamkap", "--stack-prefix", "streamkap-"}
	// Two accounts are kept from the Streamkap rollout for the adoption step.
	adoptWith, adoptWithout := f.ids[n-1], f.ids[n-2]
	streamkapExcl := []string{"--exclude-account", adoptWith, "--exclude-account", adoptWithout}

	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
		f.provider.RequireNoLeftovers(t, 20*time.Second)
	}

	step("plan and up StreamNative: live IAM equals render, verify clean", func(t *testing.T) {
		rep := f.report(t, exitOK, args([]string{"plan"}, streamNativeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		require.Greater(t, rep.Results[0].Changes["create"], 0)
		for _, id := range f.ids {
			require.Empty(t, f.vendorEntities(t, id), "plan deploys nothing")
		}

		rep = f.report(t, exitOK, args([]string{"up"}, streamNativeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		for _, id := range f.ids {
			f.requireLiveEqualsRender(t, id, streamNativeArgs...)
		}
		_, errOut, code := f.run(t, args([]string{"verify"}, streamNativeArgs, ou)...)
		require.Equal(t, exitOK, code, errOut)
	})

	step("Streamkap and a spec file side by side", func(t *testing.T) {
		rep := f.report(t, exitOK, args([]string{"up"}, streamkapArgs, ou, streamkapExcl)...)
		requireAll(t, rep, n-2, rollout.StatusSucceeded)
		rep = f.report(t, exitOK, args([]string{"up"}, acmeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		for _, id := range f.ids {
			f.requireLiveEqualsRender(t, id, "--spec", specFile, "--param", "external_id=acme-tenant-7")
			if id != adoptWith && id != adoptWithout {
				f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")
			}
			f.requireLiveEqualsRender(t, id, streamNativeArgs...)
		}
		for _, a := range [][]string{args(streamNativeArgs, ou), args(streamkapArgs[:2], ou, streamkapExcl), args(acmeArgs[:4], ou)} {
			out, errOut, code := f.run(t, append([]string{"verify"}, a...)...)
			require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
		}
	})

	step("unchanged re-run starts no CLI; forced re-run changes nothing", func(t *testing.T) {
		rep := f.report(t, exitOK, args([]string{"up"}, streamNativeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		for _, r := range rep.Results {
			require.True(t, r.UpToDate, "account %s was not skipped by its fingerprint", r.Account.ID)
		}
		for _, a := range [][]string{streamNativeArgs, streamkapArgs, acmeArgs} {
			extra, accounts := ou, n
			if a[1] == "streamkap" {
				extra, accounts = args(ou, streamkapExcl), n-2
			}
			rep := f.report(t, exitOK, args([]string{"up", "--force"}, a, extra)...)
			requireAll(t, rep, accounts, rollout.StatusSucceeded)
			for _, r := range rep.Results {
				require.False(t, r.UpToDate, "account %s: --force runs every account", r.Account.ID)
				require.False(t, changed(r), "account %s: a forced re-run with nothing changed must change nothing (a perpetual diff), got %v", r.Account.ID, r.Changes)
			}
		}
	})

	step("out-of-band changes: drift and verify name them, up --refresh repairs them", func(t *testing.T) {
		ctx := context.Background()
		policyArn := func(id, name string) *string {
			return aws.String("arn:aws:iam::" + id + ":policy/StreamNative/" + name)
		}
		// A policy's default version edited.
		c := f.iam(t, f.ids[0])
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*"],"Resource":"*"}]}`
		_, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: policyArn(f.ids[0], "StreamNativeCloudManagementPolicy"), PolicyDocument: aws.String(doc), SetAsDefault: true})
		require.NoError(t, err)
		// A principal added to a trust policy.
		c = f.iam(t, f.ids[1])
		role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("StreamNativeCloudManagementRole")})
		require.NoError(t, err)
		trust := addPrincipal(t, aws.ToString(role.Role.AssumeRolePolicyDocument), "arn:aws:iam::999988887777:root")
		_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("StreamNativeCloudManagementRole"), PolicyDocument: aws.String(trust)})
		require.NoError(t, err)
		// An attachment removed.
		c = f.iam(t, f.ids[2])
		_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("StreamNativeCloudManagementRole"), PolicyArn: policyArn(f.ids[2], "StreamNativeCloudManagementPolicy")})
		require.NoError(t, err)
		// A tag changed.
		c = f.iam(t, f.ids[3])
		_, err = c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("StreamNativeCloudManagementRole"), Tags: []iamtypes.Tag{{Key: aws.String("Vendor"), Value: aws.String("someone-else")}}})
		require.NoError(t, err)
		// A role deleted, as IAM requires: its policies detached first.
		c = f.iam(t, f.ids[4])
		attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("StreamNativeCloudManagementRole")})
		require.NoError(t, err)
		for _, p := range attached.AttachedPolicies {
			_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("StreamNativeCloudManagementRole"), PolicyArn: p.PolicyArn})
			require.NoError(t, err)
		}
		_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("StreamNativeCloudManagementRole")})
		require.NoError(t, err)

		rep := f.report(t, exitFailed, args([]string{"drift"}, streamNativeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		drifted := map[string]bool{}
		for _, r := range rep.Results {
			drifted[r.Account.ID] = r.Drifted
		}
		for i, id := range f.ids {
			require.Equal(t, i < 5, drifted[id], "account %d (%s): drift", i, id)
		}

		out, _, code := f.run(t, args([]string{"verify", "--output", "json"}, streamNativeArgs, ou)...)
		require.Equal(t, exitFailed, code)
		var ver []AccountVerification
		require.NoError(t, json.Unmarshal([]byte(out), &ver))
		kinds := map[string][]string{}
		for _, v := range ver {
			require.Empty(t, v.Error)
			for _, fd := range v.Findings {
				kinds[v.AccountID] = append(kinds[v.AccountID], string(fd.Kind)+" "+fd.Resource)
			}
		}
		require.Contains(t, kinds[f.ids[0]], "actions-added policy/StreamNativeCloudManagementPolicy")
		require.Contains(t, kinds[f.ids[1]], "trust-principal-added role/StreamNativeCloudManagementRole")
		require.Contains(t, kinds[f.ids[2]], "attachment-missing role/StreamNativeCloudManagementRole")
		require.Contains(t, kinds[f.ids[3]], "tags-differ role/StreamNativeCloudManagementRole")
		require.Contains(t, kinds[f.ids[4]], "role-missing role/StreamNativeCloudManagementRole")
		require.Len(t, kinds, 5, "only the changed accounts drift: %v", kinds)

		rep = f.report(t, exitOK, args([]string{"up", "--refresh"}, streamNativeArgs, ou)...)
		requireAll(t, rep, n, rollout.StatusSucceeded)
		out, errOut, code := f.run(t, args([]string{"verify"}, streamNativeArgs, ou)...)
		require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
		for _, id := range f.ids[:5] {
			f.requireLiveEqualsRender(t, id, streamNativeArgs...)
		}
	})

	step("adoption of a console onboarding, with and without the preflight", func(t *testing.T) {
		for _, id := range []string{adoptWith, adoptWithout} {
			streamkapConsoleSteps(t, f, id)
		}
		rep := f.report(t, exitFailed, args([]string{"up"}, streamkapArgs, []string{"--account", adoptWith})...)
		require.Equal(t, rollout.StatusFailed, rep.Results[0].Status)
		require.Contains(t, rep.Results[0].Error, "role/StreamkapInstallAccess")
		require.Contains(t, rep.Results[0].Error, "--adopt")

		rep = f.report(t, exitOK, args([]string{"up", "--adopt"}, streamkapArgs, []string{"--account", adoptWith})...)
		requireAll(t, rep, 1, rollout.StatusSucceeded)
		rep = f.report(t, exitOK, args([]string{"up", "--adopt", "--no-preflight"}, streamkapArgs, []string{"--account", adoptWithout})...)
		requireAll(t, rep, 1, rollout.StatusSucceeded)
		for _, id := range []string{adoptWith, adoptWithout} {
			f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")
		}
	})

	step("spec changes that replace named resources", func(t *testing.T) {
		// A role's path and a policy's name, then the policy's spec id: each replaces a
		// resource whose IAM name stays taken until the old one is gone.
		for _, c := range []struct {
			replace       []string
			want, notWant []string
		}{
			{
				replace: []string{"name: AcmeRead", "name: AcmeReadOnly", "maxSessionDuration: 3600", "maxSessionDuration: 3600\n    path: /acme/v2/"},
				want:    []string{"role/acme/v2/AcmeAccess", "policy/acme/AcmeReadOnly"},
				notWant: []string{"role/AcmeAccess", "policy/acme/AcmeRead"},
			},
			{
				replace: []string{"id: read", "id: reader", "permissionsBoundary: read", "permissionsBoundary: reader", "policy: read", "policy: reader"},
				want:    []string{"role/acme/v2/AcmeAccess", "policy/acme/AcmeReadOnly"},
			},
		} {
			spec, err := os.ReadFile(specFile)
			require.NoError(t, err)
			changedSpec := strings.NewReplacer(c.replace...).Replace(string(spec))
			require.NotEqual(t, string(spec), changedSpec)
			require.NoError(t, os.WriteFile(specFile, []byte(changedSpec), 0o600))
			rep := f.report(t, exitOK, args([]string{"up"}, acmeArgs, ou)...)
			requireAll(t, rep, n, rollout.StatusSucceeded)
			for _, id := range f.ids {
				f.requireLiveEqualsRender(t, id, "--spec", specFile, "--param", "external_id=acme-tenant-7")
				entities := f.vendorEntities(t, id)
				for _, w := range c.want {
					require.Contains(t, entities, w)
				}
				for _, w := range c.notWant {
					require.NotContains(t, entities, w)
				}
			}
		}
	})

	step("destroy --remove-stacks leaves nothing", func(t *testing.T) {
		// Every vendor's stacks are in every account by now: Streamkap's last two by adoption.
		for _, prefix := range [][]string{nil, {"--stack-prefix", "streamkap-"}, {"--stack-prefix", "acme-"}} {
			rep := f.report(t, exitOK, args([]string{"destroy", "--remove-stacks", "--yes"}, prefix, ou)...)
			requireAll(t, rep, n, rollout.StatusSucceeded)
		}
		for _, id := range f.ids {
			require.Empty(t, f.vendorEntities(t, id), "account %s still holds vendor IAM entities", id)
		}
		require.Empty(t, f.stacks(t))
	})
}

// addPrincipal returns a trust policy with one more AWS principal in its first statement.
func addPrincipal(t *testing.T, doc, principal string) string {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(unescapeDoc(doc)), &d))
	st := d["Statement"].([]any)[0].(map[string]any)
	p := st["Principal"].(map[string]any)
	switch cur := p["AWS"].(type) {
	case string:
		p["AWS"] = []any{cur, principal}
	case []any:
		p["AWS"] = append(cur, principal)
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	return string(b)
}

// unescapeDoc undoes the URL encoding IAM applies to policy documents.
func unescapeDoc(doc string) string {
	if s, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(doc, "%7B") {
		return s
	}
	return doc
}

// streamkapConsoleSteps onboards Streamkap in an account the way its docs tell a customer to
// in the console, through the SDK: the two published policies and the role with the published
// trust policy, with a role description, a session duration and tags the preset does not set.
// (A policy's description cannot be changed in IAM, so adoption cannot converge one; the
// preflight refuses such a policy, see TestAdoptRefusesAPolicyWhoseDescriptionDiffers.)
func streamkapConsoleSteps(t *testing.T, f *realFleet, accountID string) {
	t.Helper()
	ctx := context.Background()
	c := f.iam(t, accountID)
	names := []string{"StreamkapProvisionAccess", "StreamkapDeprovisionAccess"}
	for i, name := range names {
		_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(streamkapSeedJSON(t, i)),
			Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("platform")}}})
		require.NoError(t, err)
	}
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("StreamkapInstallAccess"), AssumeRolePolicyDocument: aws.String(streamkapSeedJSON(t, 2)),
		Description: aws.String("Streamkap, by hand"), MaxSessionDuration: aws.Int32(7200), Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("platform")}}})
	require.NoError(t, err)
	for _, name := range names {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("StreamkapInstallAccess"), PolicyArn: aws.String("arn:aws:iam::" + accountID + ":policy/" + name)})
		require.NoError(t, err)
	}
}

// streamkapSeedJSON returns the n-th JSON document of the Streamkap seed: provision,
// deprovision, trust.
func streamkapSeedJSON(t *testing.T, n int) string {
	return testenv.SeedJSON(t, "seeds/streamkap-byoc-aws.txt", n)
}

// TestAdoptRefusesAPolicyWhoseDescriptionDiffers: IAM cannot change a policy's description,
// so adopting one that differs would need a replacement Pulumi refuses for an import. The
// preflight says so by name, before any stack is touched, and nothing changes in the account.
func TestAdoptRefusesAPolicyWhoseDescriptionDiffers(t *testing.T) {
	f := newRealFleet(t, 1)
	id := f.ids[0]
	streamkapConsoleSteps(t, f, id)
	c := f.iam(t, id)
	ctx := context.Background()
	arn := aws.String("arn:aws:iam::" + id + ":policy/StreamkapDeprovisionAccess")
	_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("StreamkapInstallAccess"), PolicyArn: arn})
	require.NoError(t, err)
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn})
	require.NoError(t, err)
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("StreamkapDeprovisionAccess"),
		PolicyDocument: aws.String(streamkapSeedJSON(t, 1)), Description: aws.String("created in the console")})
	require.NoError(t, err)
	before := f.vendorEntities(t, id)

	rep := f.report(t, exitFailed, "up", "--adopt", "--vendor", "streamkap", "--account", id)
	require.Contains(t, rep.Results[0].Error, `policy/StreamkapDeprovisionAccess has description "created in the console"`)
	require.Contains(t, rep.Results[0].Error, "delete or rename")
	require.Equal(t, before, f.vendorEntities(t, id))
	require.Empty(t, f.stacks(t))
}

// TestAdoptWithoutThePreflight: adoption reads the account with the organization's
// credentials whether or not the preflight runs, so `up --adopt --no-preflight` imports what
// exists instead of silently adopting nothing and failing on EntityAlreadyExists.
func TestAdoptWithoutThePreflight(t *testing.T) {
	f := newRealFleet(t, 1)
	id := f.ids[0]
	streamkapConsoleSteps(t, f, id)
	rep := f.report(t, exitFailed, "up", "--no-preflight", "--vendor", "streamkap", "--account", id)
	require.Contains(t, rep.Results[0].Error, "--adopt", "without --adopt the account fails naming what exists")
	rep = f.report(t, exitOK, "up", "--adopt", "--no-preflight", "--vendor", "streamkap", "--account", id)
	requireAll(t, rep, 1, rollout.StatusSucceeded)
	f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")
}

// TestRealProviderWithS3Backend: the same real deployment with state in an S3 bucket (moto's):
// up, verify clean, an unchanged re-run skipped by fingerprint, destroy leaving nothing.
func TestRealProviderWithS3Backend(t *testing.T) {
	f := newRealFleet(t, 2)
	_, err := s3.NewFromConfig(f.m.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("byoc-state")})
	require.NoError(t, err)
	f.backend = "s3://byoc-state?endpoint=" + f.m.Endpoint + "&s3ForcePathStyle=true&region=us-east-1"
	fleet := []string{"--vendor", "streamkap", "--ou", "Root/Workloads"}

	rep := f.report(t, exitOK, args([]string{"up"}, fleet)...)
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	_, errOut, code := f.run(t, args([]string{"verify"}, fleet)...)
	require.Equal(t, exitOK, code, errOut)
	rep = f.report(t, exitOK, args([]string{"up"}, fleet)...)
	for _, r := range rep.Results {
		require.True(t, r.UpToDate, "account %s: the fingerprint record in S3 says unchanged", r.Account.ID)
	}
	rep = f.report(t, exitOK, "destroy", "--remove-stacks", "--yes", "--ou", "Root/Workloads")
	requireAll(t, rep, 2, rollout.StatusSucceeded)
	for _, id := range f.ids {
		require.Empty(t, f.vendorEntities(t, id))
	}
	f.provider.RequireNoLeftovers(t, 20*time.Second)
}
