package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
)

// passphrase protects the test stacks' secrets; it is test data, not a credential.
const passphrase = "programs-test"

// bench is what every program test shares: one moto organization, the Pulumi CLI, an AWS
// provider, the rollout binary and a file backend, with the CLI's environment pointed at them.
type bench struct {
	m        *testenv.Moto
	org      *testenv.Org
	root     string // the checkout
	cli      string
	rollout  string
	work     string // the rollout's working folder: its run records stay out of the checkout
	backend  string
	provider testenv.AWSProvider
}

// newBench starts moto with an organization holding one member account per name, and points
// this test's environment (and so every CLI, language host and provider process) at it and at
// a file backend, with a private PULUMI_HOME whose plugin cache holds the AWS provider.
func newBench(t *testing.T, accounts ...string) *bench {
	t.Helper()
	cli, err := pulumicli.FindPath()
	if err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	b := &bench{root: root, cli: cli}
	b.m = testenv.StartMoto(t)
	spec := testenv.OrgSpec{}
	for _, a := range accounts {
		spec.Accounts = append(spec.Accounts, testenv.AccountSpec{Name: a})
	}
	b.org = testenv.SeedOrganization(t, b.m, spec)
	b.m.UseInEnv(t)
	b.provider = testenv.UseAWSProvider(t)
	b.rollout = testenv.RolloutBinary(t)
	b.work = t.TempDir()

	b.backend = "file://" + t.TempDir()
	home := t.TempDir()
	for k, v := range map[string]string{
		"PULUMI_BACKEND_URL": b.backend, "PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_CONFIG_PASSPHRASE_FILE": "",
		"PULUMI_HOME": home, "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	} {
		t.Setenv(k, v)
	}
	// `pulumi package add` loads the component's AWS dependency from the plugin cache, not from
	// PATH (where the provider that serves the deploys is).
	b.mustPulumi(t, home, "plugin", "install", "resource", "aws", "v"+pulumicli.AWSPluginVersion, "--file", b.provider.Path)
	return b
}

// pulumi runs the CLI in dir as a user does and returns its combined output.
func (b *bench) pulumi(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(b.cli, append(args, "--non-interactive")...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("pulumi %s: %v in %s", strings.Join(args, " "), exitText(err), time.Since(start).Round(100*time.Millisecond))
	return out.String(), err
}

// mustPulumiAll runs independent CLI commands in dir at once (each on its own stack), as a
// user's terminals would, and requires each to succeed; it returns their outputs in order.
func (b *bench) mustPulumiAll(t *testing.T, dir string, commands ...[]string) []string {
	t.Helper()
	outs := make([]string, len(commands))
	errs := make([]error, len(commands))
	var wg sync.WaitGroup
	for i, args := range commands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = b.pulumi(t, dir, args...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "pulumi %s:\n%s", strings.Join(commands[i], " "), outs[i])
	}
	return outs
}

func (b *bench) mustPulumi(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := b.pulumi(t, dir, args...)
	require.NoError(t, err, "pulumi %s:\n%s", strings.Join(args, " "), out)
	return out
}

// rolloutCmd runs the rollout binary and returns stdout, stderr and the exit code.
func (b *bench) rolloutCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(b.rollout, args...)
	cmd.Dir = b.work
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	t.Logf("rollout %s: %v in %s", strings.Join(args, " "), exitText(err), time.Since(start).Round(100*time.Millisecond))
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

func exitText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// initStack creates a stack in the project folder and sets its config as a user does, with
// `pulumi config set-all --path`; the AWS provider assumes the organization's access role
// in the account, as an administrator's profile would.
func (b *bench) initStack(t *testing.T, dir, stack, accountID string, config [][2]string) {
	t.Helper()
	b.mustPulumi(t, dir, "stack", "init", stack)
	base := [][2]string{
		{"aws:region", testenv.Region},
		{"aws:assumeRole.roleArn", "arn:aws:iam::" + accountID + ":role/OrganizationAccountAccessRole"},
	}
	args := []string{"config", "set-all", "--stack", stack, "--path"}
	for _, kv := range append(base, config...) {
		args = append(args, "--plaintext", kv[0]+"="+kv[1])
	}
	b.mustPulumi(t, dir, args...)
}

// requireLiveEqualsRender reads the account's IAM with the AWS SDK and requires it to be what
// `rollout render` prints for the account with the vendor arguments.
func (b *bench) requireLiveEqualsRender(t *testing.T, accountID string, vendorArgs ...string) {
	t.Helper()
	out, errOut, code := b.rolloutCmd(t, append([]string{"render", "--account-id", accountID}, vendorArgs...)...)
	require.Equal(t, 0, code, errOut)
	var want iamstate.Account
	require.NoError(t, json.Unmarshal([]byte(out), &want))
	got, err := snapshot.Take(context.Background(), b.iam(t, accountID), accountID, snapshot.NamesOf(&want))
	require.NoError(t, err)
	testenv.RequireSameIAM(t, &want, got, "account %s: live IAM differs from render", accountID)
}

func (b *bench) iam(t *testing.T, accountID string) *iam.Client {
	return iam.NewFromConfig(b.m.MemberConfig(t, accountID))
}

// requireNoVendorEntities requires an account to hold no role or policy but the
// organization's access role.
func (b *bench) requireNoVendorEntities(t *testing.T, accountID string) {
	t.Helper()
	client := iam.NewFromConfig(b.m.AWSConfig(t))
	if accountID != testenv.MotoAccount {
		client = b.iam(t, accountID)
	}
	require.Empty(t, testenv.VendorEntities(t, client), "account %s", accountID)
}

// copyTree copies the regular files under src to dst, leaving out the folders skip names.
func copyTree(t *testing.T, src, dst string, skip map[string]bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	require.NoError(t, err)
}
