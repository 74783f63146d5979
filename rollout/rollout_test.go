package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

const passphrase = "correct horse battery staple"

// stub is a component-only stand-in for the vendor program: it reads the same stack config
// and exports the same outputs, but needs no cloud plugin.
type stub struct{ pulumi.ResourceState }

func stubProgram(failFor string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg := pconfig.New(ctx, "byoc-access")
		acct := cfg.Require("accountId")
		if acct == failFor {
			return fmt.Errorf("VendorAccess vendor: parameter %q: is required", "external_id")
		}
		var role map[string]string
		if err := pconfig.New(ctx, "aws").TryObject("assumeRole", &role); err != nil {
			return fmt.Errorf("aws:assumeRole: %w", err)
		}
		comp := &stub{}
		if err := ctx.RegisterComponentResource("byoc-access:test:VendorAccessStub", "vendor", comp); err != nil {
			return err
		}
		roles := pulumi.StringMap{"StubRole": pulumi.String("arn:aws:iam::" + acct + ":role/StubRole")}
		if err := ctx.RegisterResourceOutputs(comp, pulumi.Map{"roleArns": roles}); err != nil {
			return err
		}
		ctx.Export("roleArns", roles)
		ctx.Export("externalId", pulumi.String(cfg.Get("externalId")))
		ctx.Export("vendor", pulumi.String(cfg.Require("vendor")))
		ctx.Export("assumedRole", pulumi.String(role["roleArn"]))
		ctx.Export("sessionDuration", pulumi.String(role["duration"]))
		ctx.Export("region", pulumi.String(pconfig.New(ctx, "aws").Require("region")))
		ctx.Export("adopt", pulumi.String(cfg.Get("adopt")))
		ctx.Export("fingerprint", pulumi.String(cfg.Get("fingerprint")))
		return nil
	}
}

func stubDeployment(failFor string) rollout.Deployment {
	return rollout.Deployment{
		Program:        stubProgram(failFor),
		Version:        "stub-1",
		FingerprintKey: "byoc-access:fingerprint",
		StackConfig: func(a targets.Account) (map[string]string, error) {
			return map[string]string{
				"byoc-access:vendor":     "stub",
				"byoc-access:accountId":  a.ID,
				"byoc-access:externalId": "o-abcde",
			}, nil
		},
	}
}

func pulumiCLI(t *testing.T) auto.PulumiCommand {
	t.Helper()
	cmd, err := pulumicli.Find()
	if err != nil {
		testenv.Missing(t, "the end-to-end rollout tests need the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	return cmd
}

// fleet starts moto with an organization of n member accounts and returns them.
func fleet(t *testing.T, n int) (*testenv.Moto, []targets.Account) {
	t.Helper()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	testenv.SeedOrganization(t, m, testenv.OrgSpec{OUs: []string{"Workloads"}})
	testenv.AddAccounts(t, m, "member", n)
	res, err := targets.Discover(context.Background(), organizations.NewFromConfig(m.AWSConfig(t)), targets.Filter{})
	require.NoError(t, err)
	require.Len(t, res.Targets, n)
	return m, res.Targets
}

func sdkConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	return testenv.RetryingConfig(t, endpoint)
}

func listStacks(t *testing.T, cmd auto.PulumiCommand, backend string) []string {
	t.Helper()
	ws, err := auto.NewLocalWorkspace(context.Background(), auto.Pulumi(cmd),
		auto.Project(projectFor()),
		auto.EnvVars(map[string]string{"PULUMI_BACKEND_URL": backend, "PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_SKIP_UPDATE_CHECK": "true"}))
	require.NoError(t, err)
	defer os.RemoveAll(ws.WorkDir())
	stacks, err := ws.ListStacks(context.Background())
	require.NoError(t, err)
	var names []string
	for _, s := range stacks {
		names = append(names, s.Name[strings.LastIndex(s.Name, "/")+1:])
	}
	sort.Strings(names)
	return names
}

func TestRolloutEndToEnd(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 10)
	backend := "file://" + t.TempDir()
	runDir := t.TempDir()
	var events []rollout.Event
	dep := stubDeployment("")
	dep.SecretConfig = func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:apiToken": "tok-secret-" + a.ID}, nil
	}
	dep.Program = withSeenConfig(dep.Program, "deploy-secret-ext")
	r, err := rollout.New(dep,
		rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
		rollout.Parallel(5), rollout.RunDir(runDir), rollout.Preflight(sdkConfig(t, m.Endpoint)),
		rollout.ExecutionRole(access.ExecutionRole{ExternalID: "deploy-secret-ext", Duration: 2 * time.Hour}),
		rollout.OnEvent(func(e rollout.Event) { events = append(events, e) }))
	require.NoError(t, err)
	ctx := context.Background()

	start := time.Now()
	rep, err := r.Up(ctx, accounts)
	require.NoError(t, err)
	t.Logf("first up of %d accounts: %s", len(accounts), time.Since(start))
	require.Equal(t, 10, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Equal(t, 10, rep.Counts.Changed)
	for _, res := range rep.Results {
		a := res.Account
		require.Equal(t, rollout.StatusSucceeded, res.Status)
		require.Equal(t, a.ID, res.Stack)
		require.Equal(t, map[string]string{"StubRole": "arn:aws:iam::" + a.ID + ":role/StubRole"}, res.RoleArns)
		require.Equal(t, "o-abcde", res.ExternalID)
		require.Equal(t, "arn:aws:iam::"+a.ID+":role/OrganizationAccountAccessRole", res.Outputs["assumedRole"], "the provider assumes the execution role")
		require.Equal(t, "2h0m0s", res.Outputs["sessionDuration"], "the provider's session lasts as long as the execution role's")
		require.Equal(t, "us-east-1", res.Outputs["region"])
		require.Equal(t, 2, res.Changes["create"], "the stack and the component")
		assertSeenConfig(t, res)
	}
	require.Equal(t, 20, rep.Counts.Changes["create"], "the totals add up the accounts")
	require.Equal(t, sortedIDs(accounts), listStacks(t, cmd, backend))
	for _, f := range []string{"report.json", "report.csv", "report.md", accounts[0].ID + ".log"} {
		require.FileExists(t, filepath.Join(runDir, f))
	}

	// A second up changes nothing.
	rep, err = r.Up(ctx, accounts)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Counts.Succeeded)
	require.Equal(t, 10, rep.Counts.Unchanged, "%+v", rep.Results)
	// And the engine agrees: a plan shows every resource the same, nothing else.
	rep, err = r.Preview(ctx, accounts)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Counts.Succeeded, "%+v", rep.Results)
	for _, res := range rep.Results {
		require.Equal(t, map[string]int{"same": 2}, res.Changes, res.Account.ID)
	}
	require.Equal(t, map[string]int{"same": 20}, rep.Counts.Changes)

	// The handoff comes from state, without running the program: every account's role ARNs
	// and external ID, and (status) its last update.
	hs, rep, err := r.Handoff(ctx, accounts)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Counts.Succeeded)
	for _, res := range rep.Results {
		require.Equal(t, "succeeded", res.LastResult)
		require.NotEmpty(t, res.LastUpdate)
	}
	require.Len(t, hs, 10)
	for _, h := range hs {
		require.Equal(t, map[string]string{"StubRole": "arn:aws:iam::" + h.AccountID + ":role/StubRole"}, h.RoleArns)
		require.Equal(t, "o-abcde", h.ExternalID)
	}

	// Nothing secret reached the logs or the reports.
	testenv.AssertNoSecrets(t, nil, []string{runDir, strings.TrimPrefix(backend, "file://")}, passphrase, "deploy-secret-ext", testenv.SecretAccessKey, "tok-secret-")

	// Offboarding removes every stack.
	d, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
		rollout.Parallel(5), rollout.RemoveStacks(true))
	require.NoError(t, err)
	rep, err = d.Destroy(ctx, accounts)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Counts.Succeeded, "%+v", rep.Results)
	for _, res := range rep.Results {
		require.Equal(t, map[string]int{"delete": 2}, res.Changes, res.Account.ID)
	}
	require.Empty(t, listStacks(t, cmd, backend))
	// Offboarding again finds nothing to do.
	rep, err = d.Destroy(ctx, accounts)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Counts.Skipped, "%+v", rep.Results)
}

// withSeenConfig wraps a program so it exports what config it was given: the stack config
// lives in the rollout's throwaway workspace, not in the backend, so the program is the
// witness. Secret values are compared inside the program and only the verdict is exported, so
// state holds no plaintext.
func withSeenConfig(inner pulumi.RunFunc, wantExternalID string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := inner(ctx); err != nil {
			return err
		}
		var role map[string]string
		if err := pconfig.New(ctx, "aws").TryObject("assumeRole", &role); err != nil {
			return err
		}
		token, _ := ctx.GetConfig("byoc-access:apiToken")
		acct, _ := ctx.GetConfig("byoc-access:accountId")
		ctx.Export("seen", pulumi.Map{
			"roleArn":            pulumi.String(role["roleArn"]),
			"sessionName":        pulumi.String(role["sessionName"]),
			"externalIdMatches":  pulumi.Bool(role["externalId"] == wantExternalID),
			"assumeRoleIsSecret": pulumi.Bool(ctx.IsConfigSecret("aws:assumeRole")),
			"tokenMatches":       pulumi.Bool(token == "tok-secret-"+acct),
			"tokenIsSecret":      pulumi.Bool(ctx.IsConfigSecret("byoc-access:apiToken")),
			"vendorIsSecret":     pulumi.Bool(ctx.IsConfigSecret("byoc-access:vendor")),
		})
		// A secret output: the rollout reports it as secret and never holds its value.
		ctx.Export("tokenEcho", pulumi.ToSecret(pulumi.String(token)))
		return nil
	}
}

// assertSeenConfig checks the config the program got in one account: the provider assumes
// the execution role there, the deployment's keys are set, and the secrets are secret.
func assertSeenConfig(t *testing.T, res rollout.Result) {
	t.Helper()
	id := res.Account.ID
	require.Equal(t, map[string]any{
		"roleArn":            "arn:aws:iam::" + id + ":role/OrganizationAccountAccessRole",
		"sessionName":        "byoc-access-" + id,
		"externalIdMatches":  true,
		"assumeRoleIsSecret": true,
		"tokenMatches":       true,
		"tokenIsSecret":      true,
		"vendorIsSecret":     false,
	}, res.Outputs["seen"], id)
	require.Equal(t, "stub", res.Outputs["vendor"])
	require.Equal(t, "[secret]", res.Outputs["tokenEcho"], "a secret output is reported as secret")
}

func TestFailureIsolation(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 4)
	deniedID, brokenID := accounts[1].ID, accounts[2].ID
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" && strings.Contains(c.Params.Get("RoleArn"), deniedID) {
			return testenv.AccessDenied
		}
		return nil
	})
	backend := "file://" + t.TempDir()
	newRunner := func(opts ...rollout.Option) *rollout.Runner {
		base := []rollout.Option{rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
			rollout.Preflight(sdkConfig(t, proxy.URL))}
		r, err := rollout.New(stubDeployment(brokenID), append(base, opts...)...)
		require.NoError(t, err)
		return r
	}

	rep, err := newRunner(rollout.Parallel(4)).Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.Succeeded)
	require.Equal(t, 2, rep.Counts.Failed)
	require.True(t, rep.Failed())
	byID := map[string]rollout.Result{}
	for _, res := range rep.Results {
		byID[res.Account.ID] = res
	}
	require.Equal(t, rollout.KindAssumeRole, byID[deniedID].Kind)
	require.Contains(t, byID[deniedID].Error, "AccessDenied")
	require.Equal(t, rollout.KindProgram, byID[brokenID].Kind)
	require.Contains(t, byID[brokenID].Error, `parameter "external_id": is required`)
	require.NotContains(t, byID[brokenID].Error, "goroutine", "the reason is the program's message, not a stack trace")

	// With no failures tolerated, scheduling stops after the first failure.
	rep, err = newRunner(rollout.Parallel(1), rollout.MaxFailures(rollout.FailureTolerance{Count: 0})).Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Equal(t, 1, rep.Counts.Failed)
	require.Equal(t, 2, rep.Counts.NotStarted)
	for _, res := range rep.Results {
		if res.Status == rollout.StatusNotStarted {
			require.Contains(t, res.Error, "--max-failures")
		}
	}
}

func TestVendorProgramWithoutAWSPluginFailsEarly(t *testing.T) {
	if ok, where := pulumicli.AWSPluginInstalled(); ok {
		t.Skipf("pulumi-resource-aws is installed at %s: the missing-plugin path cannot be shown here", where)
	}
	cmd := pulumiCLI(t)
	backend := t.TempDir()
	dep := stubDeployment("")
	dep.NeedsAWSPlugin = true
	r, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend("file://"+backend), rollout.Passphrase(passphrase))
	require.NoError(t, err)
	_, err = r.Up(context.Background(), []targets.Account{{ID: "111111111111"}})
	require.ErrorContains(t, err, "pulumi-resource-aws v6.83.0")
	require.ErrorContains(t, err, "pulumi plugin install resource aws v6.83.0")
	entries, _ := os.ReadDir(backend)
	require.Empty(t, entries, "nothing was deployed")
}

func TestNewValidates(t *testing.T) {
	cmd := pulumiCLI(t)
	tests := []struct {
		opts []rollout.Option
		want string
	}{
		{[]rollout.Option{rollout.Backend("file://" + t.TempDir())}, "no secrets passphrase"},
		{[]rollout.Option{rollout.Passphrase("trailing space "), rollout.Backend("file://" + t.TempDir())}, "white space"},
		{[]rollout.Option{rollout.Passphrase("x"), rollout.Backend("ftp://nope")}, `--backend "ftp://nope"`},
		{[]rollout.Option{rollout.Passphrase("x"), rollout.Parallel(-1)}, "--parallel -1"},
		{[]rollout.Option{rollout.Passphrase("x"), rollout.StackPrefix("bad prefix")}, "--stack-prefix"},
		{[]rollout.Option{rollout.Passphrase("x"), rollout.ExecutionRole(access.ExecutionRole{NameOrTemplate: "arn:aws:iam::1:role/x"})}, "{account}"},
	}
	for _, tt := range tests {
		_, err := rollout.New(stubDeployment(""), append([]rollout.Option{rollout.PulumiCommand(cmd)}, tt.opts...)...)
		require.ErrorContains(t, err, tt.want)
	}
	_, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Passphrase("x"), rollout.Parallel(0),
		rollout.Backend("file://"+t.TempDir()))
	require.NoError(t, err, "--parallel 0 fits the machine")
	require.GreaterOrEqual(t, rollout.DefaultParallel(true), 1)
}

// TestNewWritesNothing: New checks that a file backend's state directory can be made, and
// leaves it unmade: the command that called it may still refuse a later input.
func TestNewWritesNothing(t *testing.T) {
	cmd := pulumiCLI(t)
	root := t.TempDir()
	state := filepath.Join(root, "a", "b", "state")
	_, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Passphrase("x"), rollout.Backend("file://"+state))
	require.NoError(t, err)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, entries, "New made the state directory")

	_, err = rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Passphrase("x"), rollout.Backend("file:///proc/byoc-state"))
	require.ErrorContains(t, err, "cannot create the state directory")
	file := filepath.Join(root, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Passphrase("x"), rollout.Backend("file://"+file))
	require.ErrorContains(t, err, "is a file")
}

func TestFailureTolerance(t *testing.T) {
	tests := []struct {
		in    string
		total int
		limit int
		err   bool
	}{
		{"0", 10, 0, false}, {"3", 10, 3, false}, {"10%", 50, 5, false}, {"25%", 10, 2, false},
		{"", 10, int(^uint(0) >> 1), false}, {"-1", 0, 0, true}, {"abc", 0, 0, true}, {"120%", 0, 0, true},
	}
	for _, tt := range tests {
		ft, err := rollout.ParseFailureTolerance(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.limit, ft.Limit(tt.total), tt.in)
	}
}

func sortedIDs(accts []targets.Account) []string {
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = a.ID
	}
	sort.Strings(out)
	return out
}

func projectFor() workspace.Project {
	return workspace.Project{Name: "byoc-access", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
}

func TestS3Backend(t *testing.T) {
	cmd := pulumiCLI(t)
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	_, err := s3.NewFromConfig(m.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("byoc-state")})
	require.NoError(t, err)
	backend := fmt.Sprintf("s3://byoc-state?endpoint=%s&s3ForcePathStyle=true&region=us-east-1", m.Endpoint)
	env := map[string]string{}
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
		rollout.Env(env), rollout.StackPrefix("prod"))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Equal(t, "prod-111111111111", rep.Results[0].Stack)

	objs, err := s3.NewFromConfig(m.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true }).
		ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("byoc-state")})
	require.NoError(t, err)
	var keys []string
	for _, o := range objs.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	require.Contains(t, strings.Join(keys, "\n"), "prod-111111111111.json", "the state is in the bucket")

	rep, err = r.Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.Unchanged)
}

func TestAdoptConflicts(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 2)
	clean, taken := accounts[0], accounts[1]
	role := access.ExecutionRole{}
	base := sdkConfig(t, m.Endpoint)

	// Someone created the vendor's role in one account by hand.
	takenIAM := iam.NewFromConfig(role.Credentials(base, sts.NewFromConfig(base), "aws", taken.ID))
	_, err := takenIAM.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String("StubRole"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	require.NoError(t, err)

	dep := stubDeployment("")
	dep.AdoptKey = "byoc-access:adopt"
	dep.Existing = func(ctx context.Context, a targets.Account, cfg aws.Config) ([]string, error) {
		_, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("StubRole")})
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{"role/StubRole"}, nil
	}
	backend := "file://" + t.TempDir()
	newRunner := func(adopt bool) *rollout.Runner {
		r, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
			rollout.Preflight(base), rollout.Adopt(adopt))
		require.NoError(t, err)
		return r
	}

	rep, err := newRunner(false).Up(context.Background(), accounts)
	require.NoError(t, err)
	byID := resultsByID(rep)
	require.Equal(t, rollout.StatusSucceeded, byID[clean.ID].Status)
	require.Equal(t, rollout.KindConflict, byID[taken.ID].Kind)
	require.Contains(t, byID[taken.ID].Error, "role/StubRole")
	require.Contains(t, byID[taken.ID].Error, "--adopt")

	rep, err = newRunner(true).Up(context.Background(), []targets.Account{taken})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Counts.Succeeded, "%+v", rep.Results)
	require.Equal(t, `["role/StubRole"]`, rep.Results[0].Outputs["adopt"], "the program is told what to import")
}

// TestDriftSkipsAccountsWithoutAStack: drift compares managed stacks only; an account with no
// stack is skipped, and an unchanged stack reports no drift. Real drift, made in the cloud and
// found by a refresh, is tested with the real program and an AWS provider in
// cmd/rollout/lifecycle_test.go.
func TestDriftSkipsAccountsWithoutAStack(t *testing.T) {
	cmd := pulumiCLI(t)
	backend := "file://" + t.TempDir()
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}}
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase), rollout.Parallel(3))
	require.NoError(t, err)
	_, err = r.Up(context.Background(), accounts[:2])
	require.NoError(t, err)

	rep, err := r.Drift(context.Background(), accounts)
	require.NoError(t, err)
	byID := resultsByID(rep)
	require.False(t, byID[accounts[0].ID].Drifted)
	require.False(t, byID[accounts[1].ID].Drifted)
	require.Equal(t, rollout.StatusSkipped, byID[accounts[2].ID].Status, "an account without a stack is not managed here")
	require.Equal(t, 0, rep.Counts.Drifted)
}

func resultsByID(rep *rollout.Report) map[string]rollout.Result {
	out := map[string]rollout.Result{}
	for _, r := range rep.Results {
		out[r.Account.ID] = r
	}
	return out
}

// TestUnchangedRerunAssumesNoRole: the preflight proves access only to the accounts a run
// will work on. An unchanged re-run touches none, so it assumes no role (1,000 STS calls
// were most of such a re-run's time); an account whose config changed is checked again.
func TestUnchangedRerunAssumesNoRole(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 3)
	var assumed sync.Map // role ARN -> calls
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" {
			n, _ := assumed.LoadOrStore(c.Params.Get("RoleArn"), new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		return nil
	})
	calls := func() (total int, roles []string) {
		assumed.Range(func(k, v any) bool {
			total += int(v.(*atomic.Int32).Swap(0))
			roles = append(roles, k.(string))
			assumed.Delete(k)
			return true
		})
		return total, roles
	}
	ext := map[string]string{}
	dep := stubDeployment("")
	dep.StackConfig = func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:vendor": "stub", "byoc-access:accountId": a.ID, "byoc-access:externalId": ext[a.ID]}, nil
	}
	backend := "file://" + t.TempDir()
	up := func() *rollout.Report {
		r, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
			rollout.Parallel(3), rollout.Preflight(sdkConfig(t, proxy.URL)))
		require.NoError(t, err)
		rep, err := r.Up(context.Background(), accounts)
		require.NoError(t, err)
		return rep
	}

	rep := up()
	require.Equal(t, 3, rep.Counts.Succeeded, "%+v", rep.Results)
	n, _ := calls()
	require.GreaterOrEqual(t, n, 3, "the first run proves access to every account")

	rep = up()
	require.Equal(t, 3, rep.Counts.UpToDate, "%+v", rep.Results)
	n, roles := calls()
	require.Zero(t, n, "an unchanged re-run assumes no role: %v", roles)

	ext[accounts[1].ID] = "o-new"
	rep = up()
	require.Equal(t, 2, rep.Counts.UpToDate, "%+v", rep.Results)
	n, roles = calls()
	require.Equal(t, 1, n, "only the changed account is checked: %v", roles)
	require.Contains(t, roles[0], accounts[1].ID)
}

func TestFingerprintSkipsUnchangedAccounts(t *testing.T) {
	cmd := pulumiCLI(t)
	backend := "file://" + t.TempDir()
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}}
	ext := map[string]string{}
	dep := stubDeployment("")
	dep.StackConfig = func(a targets.Account) (map[string]string, error) {
		return map[string]string{"byoc-access:vendor": "stub", "byoc-access:accountId": a.ID, "byoc-access:externalId": ext[a.ID]}, nil
	}
	newRunner := func(opts ...rollout.Option) *rollout.Runner {
		r, err := rollout.New(dep, append([]rollout.Option{rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase), rollout.Parallel(3)}, opts...)...)
		require.NoError(t, err)
		return r
	}
	rep, err := newRunner().Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 0, rep.Counts.UpToDate)

	rep, err = newRunner().Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Counts.UpToDate, "nothing changed: every account is skipped")
	require.NotEmpty(t, rep.Results[0].RoleArns, "a skipped account still reports its outputs")

	ext["222222222222"] = "o-new"
	rep, err = newRunner().Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Counts.UpToDate)
	require.False(t, resultsByID(rep)["222222222222"].UpToDate, "a changed parameter updates the account")
	require.Equal(t, "o-new", resultsByID(rep)["222222222222"].ExternalID)

	dep.Version = "stub-2"
	rep, err = newRunner().Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 0, rep.Counts.UpToDate, "a new program or spec version updates every account")

	rep, err = newRunner(rollout.Force(true)).Up(context.Background(), accounts)
	require.NoError(t, err)
	require.Equal(t, 0, rep.Counts.UpToDate, "--force updates unchanged accounts")
	require.Equal(t, 3, rep.Counts.Unchanged)
}

func TestSyncFollowsTheOrganization(t *testing.T) {
	cmd := pulumiCLI(t)
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	testenv.SeedOrganization(t, m, testenv.OrgSpec{})
	testenv.AddAccounts(t, m, "first", 3)
	orgs := organizations.NewFromConfig(m.AWSConfig(t))
	discover := func() (targets.Result, []targets.Account) {
		res, err := targets.Discover(context.Background(), orgs, targets.Filter{})
		require.NoError(t, err)
		all := append([]targets.Account{}, res.Targets...)
		for _, s := range res.Skipped {
			all = append(all, s.Account)
		}
		return res, all
	}
	backend := "file://" + t.TempDir()
	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase), rollout.Parallel(4))
	require.NoError(t, err)

	res, all := discover()
	rep, err := r.Sync(context.Background(), res.Targets, all, rollout.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, rep.Counts.Succeeded)
	require.Empty(t, rep.Orphans)
	first := sortedIDs(res.Targets)

	// Between runs: one account joins, one is suspended, one leaves the organization.
	added := testenv.AddAccounts(t, m, "second", 1)[0]
	_, err = orgs.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(first[0])})
	require.NoError(t, err)
	_, err = orgs.RemoveAccountFromOrganization(context.Background(), &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(first[1])})
	require.NoError(t, err)

	res, all = discover()
	rep, err = r.Sync(context.Background(), res.Targets, all, rollout.SyncOptions{})
	require.NoError(t, err)
	byID := resultsByID(rep.Report)
	require.False(t, byID[added].UpToDate, "the new account is deployed")
	require.Equal(t, rollout.StatusSucceeded, byID[added].Status)
	require.True(t, byID[first[2]].UpToDate, "the unchanged account is skipped")
	orphans := map[string]string{}
	for _, o := range rep.Orphans {
		orphans[o.AccountID] = o.Reason
		require.False(t, o.Pruned, "nothing is offboarded without --prune")
	}
	require.Equal(t, map[string]string{first[0]: "the account is SUSPENDED", first[1]: "the account is no longer in the organization"}, orphans)
	require.Contains(t, listStacks(t, cmd, backend), first[0])

	rep, err = r.Sync(context.Background(), res.Targets, all, rollout.SyncOptions{Prune: true})
	require.NoError(t, err)
	for _, o := range rep.Orphans {
		require.True(t, o.Pruned, "%+v", o)
	}
	require.ElementsMatch(t, []string{first[2], added}, listStacks(t, cmd, backend))
}

func TestAccountsThatLeaveAfterDiscovery(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 4)
	orgs := organizations.NewFromConfig(m.AWSConfig(t))
	left, closed := accounts[1].ID, accounts[2].ID
	_, err := orgs.RemoveAccountFromOrganization(context.Background(), &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(left)})
	require.NoError(t, err)
	_, err = orgs.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(closed)})
	require.NoError(t, err)

	r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend("file://"+t.TempDir()), rollout.Passphrase(passphrase),
		rollout.Parallel(4), rollout.RecheckAccounts(orgs))
	require.NoError(t, err)
	rep, err := r.Up(context.Background(), accounts) // the list from before the changes
	require.NoError(t, err)
	byID := resultsByID(rep)
	require.Equal(t, rollout.KindGone, byID[left].Kind)
	require.Contains(t, byID[left].Error, "no longer in the organization")
	require.Equal(t, rollout.KindGone, byID[closed].Kind)
	require.Contains(t, byID[closed].Error, "SUSPENDED")
	require.Equal(t, 2, rep.Counts.Succeeded)
	require.Equal(t, 2, rep.Counts.Failed, "they count against --max-failures")
}

// TestTimeoutAndRetries: an account past --timeout is cancelled through the Automation API's
// context and reported as timed out, leaving its stack unlocked; throttling in the engine's
// output is retried with backoff until it clears (a new stack survives its first attempt's
// failure), or reported as throttled when retries run out.
func TestTimeoutAndRetries(t *testing.T) {
	cmd := pulumiCLI(t)
	rollout.UseTestProvider(t)
	dir := t.TempDir()
	backend := "file://" + dir
	slow, fast := targets.Account{ID: "444444444444"}, targets.Account{ID: "555555555555"}
	dep := stubDeployment("")
	inner := dep.Program
	var mu sync.Mutex
	throttles := map[string]int{}
	dep.Program = func(ctx *pulumi.Context) error {
		acct := pconfig.New(ctx, "byoc-access").Require("accountId")
		if acct == slow.ID {
			// Slow the way a real program is: waiting on the engine, so that when the CLI is
			// interrupted the engine calls fail and the program returns. (The Automation API
			// waits for an inline program to return, so a plain sleep would outlast any timeout.)
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if err := ctx.Log.Debug("still working", nil); err != nil {
					return err
				}
			}
		}
		mu.Lock()
		left := throttles[acct]
		throttles[acct]--
		mu.Unlock()
		if left > 0 {
			// Throttled where AWS throttles: a resource operation fails with the provider's
			// message. (A program returning the same words is a program error, not retried.)
			_, err := rollout.NewFlaky(ctx, "StubRole", "creating IAM Role (StubRole): operation error IAM: CreateRole, https response error StatusCode: 400, api error Throttling: Rate exceeded")
			return err
		}
		return inner(ctx)
	}
	newRunner := func(opts ...rollout.Option) *rollout.Runner {
		r, err := rollout.New(dep, append([]rollout.Option{rollout.PulumiCommand(cmd), rollout.Backend(backend),
			rollout.Passphrase(passphrase), rollout.Parallel(2), rollout.Backoff(10 * time.Millisecond)}, opts...)...)
		require.NoError(t, err)
		return r
	}

	throttles[fast.ID] = 2
	start := time.Now()
	// The timeout leaves each of the fast account's attempts room on a loaded machine (the
	// test command runs this package under the race detector beside the CLI's tests, where
	// one attempt, its new stack included, took over 6 s); the slow program runs 60 s, so
	// finishing well before it still shows it was cut off.
	rep, err := newRunner(rollout.Timeout(15*time.Second), rollout.Retries(3)).Up(context.Background(), []targets.Account{slow, fast})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 45*time.Second, "the slow account was cut off, not waited for")
	byID := resultsByID(rep)
	require.Equal(t, rollout.StatusFailed, byID[slow.ID].Status)
	require.Equal(t, rollout.KindTimeout, byID[slow.ID].Kind)
	require.Contains(t, byID[slow.ID].Error, "timed out")
	require.Equal(t, 1, byID[slow.ID].Attempts, "a timeout is not retried")
	t.Logf("timed-out account returned after %s (timeout 15s; the CLI gets SIGINT, then SIGKILL 10s later)", byID[slow.ID].Duration.Round(100*time.Millisecond))
	require.Equal(t, rollout.StatusSucceeded, byID[fast.ID].Status, "%+v", byID[fast.ID])
	require.Equal(t, 3, byID[fast.ID].Attempts, "two throttled attempts, then success")

	locks, err := filepath.Glob(filepath.Join(dir, ".pulumi", "locks", "*", "*", slow.ID, "*.json"))
	require.NoError(t, err)
	require.Empty(t, locks, "the timed-out stack is not left locked")

	throttles[fast.ID] = 5
	rep, err = newRunner(rollout.Retries(1), rollout.Force(true)).Up(context.Background(), []targets.Account{fast})
	require.NoError(t, err)
	require.Equal(t, rollout.KindThrottled, rep.Results[0].Kind, "%+v", rep.Results[0])
	require.Equal(t, 2, rep.Results[0].Attempts)
	require.Contains(t, rep.Results[0].Error, "Throttling: Rate exceeded")
}
