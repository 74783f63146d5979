package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// realFleet is a moto organization whose member accounts receive real IAM roles and policies
// through an AWS provider (the real plugin where installed, else the test provider), driven
// through the rollout command exactly as a user runs it.
type realFleet struct {
	m        *testenv.Moto
	org      *testenv.Org
	ids      []string // member accounts, in name order
	backend  string
	stateDir string
	provider testenv.AWSProvider
}

// newRealFleet starts moto with the AWS-managed policies (the presets attach some), seeds an
// organization of n member accounts spread over nested OUs below Root/Workloads, and points
// this test's environment (and so every CLI and provider process) at it; opts change how moto
// is started (testenv.WithTLS: over HTTPS, its CA bundle in AWS_CA_BUNDLE).
func newRealFleet(t *testing.T, n int, opts ...testenv.MotoOption) *realFleet {
	t.Helper()
	return newRealFleetWith(t, n, opts...)
}

// newRealFleetWith is newRealFleet on a moto started with opts: tests of vendors that attach no
// AWS-managed policy (streamkap) can leave them out, which makes moto's first call for each
// account much cheaper.
func newRealFleetWith(t *testing.T, n int, opts ...testenv.MotoOption) *realFleet {
	t.Helper()
	if _, err := pulumicli.Find(); err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	m := testenv.StartMoto(t, opts...)
	spec := testenv.OrgSpec{OUs: []string{"Workloads", "Workloads/Prod", "Workloads/Prod/EU", "Workloads/Dev"}}
	ous := []string{"Workloads/Prod", "Workloads/Prod/EU", "Workloads/Dev", "Workloads"}
	for i := 0; i < n; i++ {
		spec.Accounts = append(spec.Accounts, testenv.AccountSpec{Name: fmt.Sprintf("member-%02d", i), OU: ous[i%len(ous)]})
	}
	org := testenv.SeedOrganization(t, m, spec)
	f := &realFleet{m: m, org: org, stateDir: t.TempDir()}
	f.backend = "file://" + f.stateDir
	for _, a := range spec.Accounts {
		f.ids = append(f.ids, org.Accounts[a.Name])
	}
	m.UseInEnv(t)
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	f.provider = testenv.UseAWSProvider(t)
	return f
}

// fleetCommands take --backend and --run-dir.
var fleetCommands = map[string]bool{"plan": true, "up": true, "drift": true, "destroy": true, "status": true, "handoff": true, "sync": true}

// run runs a rollout command against this fleet's backend and returns stdout, stderr and the
// exit code; fleet commands report as JSON.
func (f *realFleet) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	shown := strings.Join(args, " ")
	if fleetCommands[args[0]] {
		args = append(args, "--backend", f.backend, "--run-dir", t.TempDir(), "--output", "json")
	}
	start := time.Now()
	out, errOut, code := runCLI(t, args...)
	t.Logf("rollout %s: exit %d in %s", shown, code, time.Since(start).Round(100*time.Millisecond))
	return out, errOut, code
}

// report runs a fleet command and returns its JSON report, requiring the exit code.
func (f *realFleet) report(t *testing.T, wantCode int, args ...string) *rollout.Report {
	t.Helper()
	out, errOut, code := f.run(t, args...)
	var rep rollout.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout: %s\nstderr: %s", out, errOut)
	require.Equal(t, wantCode, code, "rollout %s\nstderr: %s\nresults: %s", args[0], errOut, resultsText(&rep))
	return &rep
}

func resultsText(rep *rollout.Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "\n  %s %s %s %v %s", r.Account.ID, r.Status, r.Kind, r.Changes, r.Error)
	}
	return b.String()
}

// accountConfig is an SDK config acting in a member account through its
// OrganizationAccountAccessRole, the way an administrator reads or changes it by hand.
func (f *realFleet) accountConfig(t *testing.T, accountID string) aws.Config {
	t.Helper()
	return f.m.MemberConfig(t, accountID)
}

func (f *realFleet) iam(t *testing.T, accountID string) *iam.Client {
	return iam.NewFromConfig(f.accountConfig(t, accountID))
}

// rendered is what `rollout render` prints for an account.
func (f *realFleet) rendered(t *testing.T, accountID string, vendorArgs ...string) *iamstate.Account {
	t.Helper()
	out, errOut, code := runCLI(t, append([]string{"render", "--account-id", accountID}, vendorArgs...)...)
	require.Equal(t, exitOK, code, errOut)
	var a iamstate.Account
	require.NoError(t, json.Unmarshal([]byte(out), &a))
	return &a
}

// requireLiveEqualsRender reads the account's IAM with the AWS SDK and requires it to be,
// after normalisation (JSON of the same shape, documents canonical), what render printed.
func (f *realFleet) requireLiveEqualsRender(t *testing.T, accountID string, vendorArgs ...string) {
	t.Helper()
	want := f.rendered(t, accountID, vendorArgs...)
	got, err := snapshot.Take(context.Background(), f.iam(t, accountID), accountID, snapshot.NamesOf(want))
	require.NoError(t, err)
	testenv.RequireSameIAM(t, want, got, "account %s: live IAM differs from render", accountID)
}

// vendorEntities lists the IAM roles and customer-managed policies in an account, other than
// the organization's own access role: what a vendor grant leaves behind.
func (f *realFleet) vendorEntities(t *testing.T, accountID string) []string {
	t.Helper()
	return testenv.VendorEntities(t, f.iam(t, accountID))
}

// stacks lists the stacks in the fleet's file backend.
func (f *realFleet) stacks(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(filepath.Join(f.stateDir, ".pulumi", "stacks"), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(path, ".json") {
			out = append(out, strings.TrimSuffix(filepath.Base(path), ".json"))
		}
		return nil
	})
	sort.Strings(out)
	return out
}
