package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/iamstate/verify"
	"github.com/byoc-access/byoc-access/internal/testenv"
)

// motoAccount is the account moto's default credentials act in.
const motoAccount = "123456789012"

// awsCLI runs the aws CLI against moto, the way a customer following the vendor's documents
// would, so the live state is not made by our own code.
type awsCLI struct {
	t   *testing.T
	env []string
	dir string
}

func newAWSCLI(t *testing.T, m *testenv.Moto) *awsCLI {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		testenv.Missing(t, "the aws CLI is not on PATH: the live verify tests set accounts up with it (apt-get install awscli)")
	}
	return &awsCLI{t: t, env: append(os.Environ(), m.Env()...), dir: t.TempDir()}
}

func (a *awsCLI) run(args ...string) string {
	a.t.Helper()
	cmd := exec.Command("aws", append(args, "--output", "json")...)
	cmd.Env = append(a.env, "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	require.NoError(a.t, err, "aws %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// file writes a document to a file and returns the CLI's file:// reference to it.
func (a *awsCLI) file(name string, doc any) string {
	a.t.Helper()
	var b []byte
	switch d := doc.(type) {
	case string:
		b = []byte(d)
	default:
		var err error
		b, err = json.Marshal(d)
		require.NoError(a.t, err)
	}
	path := filepath.Join(a.dir, name)
	require.NoError(a.t, os.WriteFile(path, b, 0o600))
	return "file://" + path
}

func takeSnapshot(t *testing.T, m *testenv.Moto, want *iamstate.Account) *iamstate.Account {
	t.Helper()
	got, err := snapshot.Take(context.Background(), iam.NewFromConfig(m.AWSConfig(t)), want.AccountID, snapshot.NamesOf(want))
	require.NoError(t, err)
	return got
}

func findingKinds(fs []verify.Finding) map[verify.Kind][]string {
	out := map[verify.Kind][]string{}
	for _, f := range fs {
		out[f.Kind] = append(out[f.Kind], f.Resource)
	}
	return out
}

// seedJSON returns the n-th JSON document of the Streamkap seed: provision, deprovision, trust.
func seedJSON(t *testing.T, n int) string {
	return testenv.SeedJSON(t, "seeds/streamkap-byoc-aws.txt", n)
}

// createStreamkapConsoleObjects does what Streamkap's console steps create: two policies from
// the published JSON and a role with the published trust policy, nothing attached yet.
func createStreamkapConsoleObjects(t *testing.T, aws *awsCLI) {
	t.Helper()
	aws.run("iam", "create-policy", "--policy-name", "StreamkapProvisionAccess", "--policy-document", aws.file("provision.json", seedJSON(t, 0)))
	aws.run("iam", "create-policy", "--policy-name", "StreamkapDeprovisionAccess", "--policy-document", aws.file("deprovision.json", seedJSON(t, 1)))
	aws.run("iam", "create-role", "--role-name", "StreamkapInstallAccess", "--assume-role-policy-document", aws.file("trust.json", seedJSON(t, 2)))
}

func TestStreamkapConsoleStepsVerifyClean(t *testing.T) {
	m := testenv.StartMoto(t)
	aws := newAWSCLI(t, m)

	// The Streamkap console steps: two policies from the published JSON, a role with the
	// published trust policy, both policies attached.
	createStreamkapConsoleObjects(t, aws)
	for _, p := range []string{"StreamkapProvisionAccess", "StreamkapDeprovisionAccess"} {
		aws.run("iam", "attach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::"+motoAccount+":policy/"+p)
	}

	want := rendered(t, "streamkap", nil)
	want.AccountID = motoAccount
	// render ran for 123456789012 too; keep them equal by construction.
	require.Empty(t, verify.Compare(want, takeSnapshot(t, m, want)), "the console setup matches the preset")

	// Each drift kind, made by hand the way someone would in the console.
	trust := `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::300973880807:role/installer-delegation","arn:aws:iam::999988887777:root"]},"Action":"sts:AssumeRole"}]}`
	aws.run("iam", "update-assume-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-document", trust)
	aws.run("iam", "detach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::"+motoAccount+":policy/StreamkapDeprovisionAccess")
	aws.run("iam", "attach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
	wider := strings.Replace(seedJSON(t, 0), `"s3:PutObject"`, `"s3:PutObject", "s3:DeleteBucket"`, 1)
	aws.run("iam", "create-policy-version", "--policy-arn", "arn:aws:iam::"+motoAccount+":policy/StreamkapProvisionAccess", "--policy-document", aws.file("wider.json", wider), "--set-as-default")
	aws.run("iam", "tag-role", "--role-name", "StreamkapInstallAccess", "--tags", "Key=owner,Value=someone")

	fs := verify.Compare(want, takeSnapshot(t, m, want))
	require.Equal(t, map[verify.Kind][]string{
		verify.ActionsAdded:        {"policy/StreamkapProvisionAccess"},
		verify.TrustPrincipalAdded: {"role/StreamkapInstallAccess"},
		verify.AttachmentMissing:   {"role/StreamkapInstallAccess"},
		verify.AttachmentExtra:     {"role/StreamkapInstallAccess"},
		verify.TagsDiffer:          {"role/StreamkapInstallAccess"},
	}, findingKinds(fs), "%v", fs)

	aws.run("iam", "detach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
	aws.run("iam", "detach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::"+motoAccount+":policy/StreamkapProvisionAccess")
	aws.run("iam", "delete-role", "--role-name", "StreamkapInstallAccess")
	fs = verify.Compare(want, takeSnapshot(t, m, want))
	require.Contains(t, findingKinds(fs), verify.RoleMissing)
}

func TestStreamNativeModuleSetupVerifiesClean(t *testing.T) {
	m := testenv.StartMoto(t)
	aws := newAWSCLI(t, m)

	// Create the StreamNative roles and policies as the module does, from what render says the
	// module creates (the preset tests in vendors/presets prove render equals the module's data).
	params := map[string]any{
		"external_id":      "o-abcde",
		"ebs_kms_key_arns": []any{"arn:aws:kms:us-east-1:" + motoAccount + ":key/ebs"},
		"s3_kms_key_arns":  []any{"arn:aws:kms:us-east-1:" + motoAccount + ":key/s3"},
	}
	want := rendered(t, "streamnative", params)
	tagArgs := func(tags map[string]string) []string {
		var out []string
		for k, v := range tags {
			out = append(out, fmt.Sprintf("Key=%s,Value=%s", k, v))
		}
		return out
	}
	for name, p := range want.Policies {
		args := []string{"iam", "create-policy", "--policy-name", name, "--path", p.Path, "--description", p.Description,
			"--policy-document", aws.file(name+".json", p.Document), "--tags"}
		aws.run(append(args, tagArgs(p.Tags)...)...)
	}
	for name, r := range want.Roles {
		args := []string{"iam", "create-role", "--role-name", name, "--path", r.Path, "--description", r.Description,
			"--max-session-duration", fmt.Sprint(r.MaxSessionDuration), "--permissions-boundary", *r.PermissionsBoundary,
			"--assume-role-policy-document", aws.file(name+"-trust.json", r.TrustPolicy), "--tags"}
		aws.run(append(args, tagArgs(r.Tags)...)...)
		for _, arn := range r.AttachedPolicies {
			aws.run("iam", "attach-role-policy", "--role-name", name, "--policy-arn", arn)
		}
	}
	require.Empty(t, verify.Compare(want, takeSnapshot(t, m, want)), "the module's setup matches the preset")

	const mgmt = "StreamNativeCloudManagementRole"
	noExternalID := strings.Replace(mustJSON(t, want.Roles[mgmt].TrustPolicy), `"Condition":{"StringEquals":{"sts:ExternalId":"o-abcde"}},`, "", 1)
	require.NotEqual(t, mustJSON(t, want.Roles[mgmt].TrustPolicy), noExternalID)
	aws.run("iam", "update-assume-role-policy", "--role-name", mgmt, "--policy-document", noExternalID)
	aws.run("iam", "delete-role-permissions-boundary", "--role-name", "StreamNativeCloudBootstrapRole")
	aws.run("iam", "tag-role", "--role-name", mgmt, "--tags", "Key=SNVersion,Value=3.24.0")

	fs := verify.Compare(want, takeSnapshot(t, m, want))
	require.Equal(t, map[verify.Kind][]string{
		verify.TrustExternalIDMissing: {"role/" + mgmt},
		verify.BoundaryMissing:        {"role/StreamNativeCloudBootstrapRole"},
		verify.TagsDiffer:             {"role/" + mgmt},
	}, findingKinds(fs), "%v", fs)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestVerifyUnderThrottling(t *testing.T) {
	m := testenv.StartMoto(t)
	aws := newAWSCLI(t, m)
	createStreamkapConsoleObjects(t, aws)
	aws.run("iam", "attach-role-policy", "--role-name", "StreamkapInstallAccess", "--policy-arn", "arn:aws:iam::"+motoAccount+":policy/StreamkapProvisionAccess")

	var n atomic.Int64
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		switch n.Add(1) % 10 {
		case 1:
			return testenv.Throttled
		case 6:
			return testenv.ServerError
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)

	want := rendered(t, "streamkap", nil)
	got, err := snapshot.Take(context.Background(), iam.NewFromConfig(cfg), want.AccountID, snapshot.NamesOf(want))
	require.NoError(t, err, "throttled and failed IAM reads are retried")
	require.Greater(t, proxy.Injected(), int64(2))
	fs := verify.Compare(want, got)
	require.Equal(t, map[verify.Kind][]string{verify.AttachmentMissing: {"role/StreamkapInstallAccess"}}, findingKinds(fs),
		"the result is exactly what an unthrottled read finds: %v", fs)
}
