package examples_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// NodeModulesDirEnv names a folder whose node_modules holds the TypeScript example's npm
// packages, as scripts/install-node-modules.sh prints it; scripts/test.sh sets it.
const NodeModulesDirEnv = "BYOC_NODE_MODULES_DIR"

// Explicit KMS keys spare StreamNative's lookup of the account's AWS-managed keys, so that
// render prints exact ARNs to compare with.
const (
	ebsKey = "arn:aws:kms:us-east-1:111122223333:key/ebs-shared"
	s3Key  = "arn:aws:kms:us-east-1:111122223333:key/s3-shared"
)

// TestPrograms runs every way the project is used through the real Pulumi CLI, the AWS
// provider the other deploy tests use, language hosts, moto member accounts and a file backend:
// `pulumi up` of the repository's main.go per stack and its takeover by the rollout, and the
// component from a Go module of its own and from TypeScript and YAML through provider/. The
// subtests share one moto and one set of hosts; each deploys into its own account.
func TestPrograms(t *testing.T) {
	b := newBench(t, "stack-streamnative", "stack-streamkap", "stack-datadog", "stack-spec", "go", "typescript", "yaml")
	// All hosts are made available here, because the subtests run in parallel and so cannot
	// change the environment themselves.
	for _, runtime := range []string{"go", "nodejs", "yaml"} {
		testenv.UseLanguageHost(t, runtime)
	}
	// Independent projects in their own accounts: they run side by side, to keep the test short.
	t.Run("programs", func(t *testing.T) {
		t.Run("pulumi up of main.go per stack, then the rollout", func(t *testing.T) { t.Parallel(); testStacks(t, b) })
		t.Run("the component from Go", func(t *testing.T) { t.Parallel(); testGo(t, b) })
		t.Run("the component from TypeScript", func(t *testing.T) { t.Parallel(); testTypeScript(t, b) })
		t.Run("the component from YAML", func(t *testing.T) { t.Parallel(); testYAML(t, b) })
	})
	// The AWS provider and the CLIs must be gone; a language host the CLI left ends by itself.
	b.provider.RequireNoLeftovers(t, 20*time.Second, "pulumi-language-")
}

// stackCase is one stack of the repository's own program: its config as a user sets it, and
// the same vendor as `rollout render` arguments.
type stackCase struct {
	account string
	config  [][2]string
	render  []string
}

func testStacks(t *testing.T, b *bench) {
	proj := t.TempDir()
	// The repository's own project (Pulumi.yaml, main.go and the module it builds), copied so
	// that the stack config files a user's `pulumi config set` writes stay out of the checkout.
	copyTree(t, b.root, proj, map[string]bool{".git": true, "examples": true, "tools": true, ".byoc-access": true, "node_modules": true, "bin": true})
	require.NoError(t, os.WriteFile(filepath.Join(proj, "acme.yaml"), []byte(testenv.AcmeSpec), 0o644))
	acc := b.org.Accounts
	cases := map[string]stackCase{
		"streamnative": {acc["stack-streamnative"],
			[][2]string{{"byoc-access:vendor", "streamnative"}, {"byoc-access:params.external_id", "o-abcde"},
				{"byoc-access:params.ebs_kms_key_arns[0]", ebsKey}, {"byoc-access:params.s3_kms_key_arns[0]", s3Key},
				{"byoc-access:tags.ManagedBy", "byoc-access"}},
			[]string{"--vendor", "streamnative", "--param", "external_id=o-abcde", "--param", "ebs_kms_key_arns=" + ebsKey,
				"--param", "s3_kms_key_arns=" + s3Key, "--tag", "ManagedBy=byoc-access"}},
		"streamkap": {acc["stack-streamkap"],
			[][2]string{{"byoc-access:vendor", "streamkap"}},
			[]string{"--vendor", "streamkap"}},
		"datadog": {acc["stack-datadog"],
			[][2]string{{"byoc-access:vendor", "datadog"}, {"byoc-access:params.external_id", "0123456789abcdef0123456789abcdef"}},
			[]string{"--vendor", "datadog", "--param", "external_id=0123456789abcdef0123456789abcdef"}},
		"spec file": {acc["stack-spec"],
			[][2]string{{"byoc-access:specFile", "acme.yaml"}, {"byoc-access:params.external_id", "acme-tenant-7"}},
			[]string{"--spec", filepath.Join(proj, "acme.yaml"), "--param", "external_id=acme-tenant-7"}},
	}
	order := []string{"streamnative", "streamkap", "datadog", "spec file"}
	for name, c := range cases {
		// Each stack's config names its account, as a user pins a stack to its account.
		c.config = append(c.config, [2]string{"byoc-access:accountId", c.account})
		cases[name] = c
	}
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("config mistakes and another account's credentials fail before anything is created", func(t *testing.T) {
		target, other := acc["stack-datadog"], acc["stack-streamkap"]
		b.initStack(t, proj, "mistakes", target, [][2]string{{"byoc-access:vendor", "nosuch"}})
		tests := []struct {
			name string
			set  [][2]string
			want string
		}{
			{"unknown vendor", nil, `config byoc-access:vendor/specFile: unknown vendor "nosuch"`},
			{"missing required parameter", [][2]string{{"byoc-access:vendor", "datadog"}}, `config byoc-access:params: vendor datadog: parameter "external_id"`},
			{"bad account ID", [][2]string{{"byoc-access:params.external_id", "0123456789abcdef0123456789abcdef"}, {"byoc-access:accountId", "12345"}},
				`config byoc-access:accountId: account ID "12345"`},
			// The provider's credentials act in target; the stack is pinned to another account.
			{"credentials for another account", [][2]string{{"byoc-access:accountId", other}},
				"config byoc-access:accountId is " + other + ", but the AWS provider's credentials act in account " + target},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, kv := range tt.set {
					b.mustPulumi(t, proj, "config", "set", "--stack", "mistakes", "--path", kv[0], kv[1])
				}
				out, err := b.pulumi(t, proj, "up", "--yes", "--skip-preview", "--stack", "mistakes")
				require.Error(t, err, out)
				require.Contains(t, out, tt.want)
				for _, id := range []string{target, other, testenv.MotoAccount} {
					b.requireNoVendorEntities(t, id)
				}
			})
		}
		b.mustPulumi(t, proj, "stack", "rm", "--yes", "--force", "--stack", "mistakes")
	})

	step("up: each account's IAM equals render", func(t *testing.T) {
		var ups [][]string
		for _, name := range order {
			c := cases[name]
			// The stack is named as the rollout names an account's stack, so the rollout can
			// take it over (below).
			b.initStack(t, proj, c.account, c.account, c.config)
			ups = append(ups, []string{"up", "--yes", "--skip-preview", "--stack", c.account})
		}
		outs := b.mustPulumiAll(t, proj, ups...)
		for i, name := range order {
			if name == "streamkap" {
				t.Logf("pulumi up of main.go for streamkap:\n%s", outs[i])
			}
			b.requireLiveEqualsRender(t, cases[name].account, cases[name].render...)
		}
	})

	step("a re-run changes nothing", func(t *testing.T) {
		var ups [][]string
		for _, name := range order {
			ups = append(ups, []string{"up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", cases[name].account})
		}
		b.mustPulumiAll(t, proj, ups...)
	})

	step("the handoff output carries what rollout handoff shows", func(t *testing.T) {
		args := []string{"handoff", "--backend", b.backend, "--as", "json"}
		for _, name := range order {
			args = append(args, "--account", cases[name].account)
		}
		out, errOut, code := b.rolloutCmd(t, args...)
		require.Equal(t, 0, code, errOut)
		var handoffs []rollout.Handoff
		require.NoError(t, json.Unmarshal([]byte(out), &handoffs))
		require.Len(t, handoffs, len(order))
		for _, h := range handoffs {
			var got struct {
				AccountID  string            `json:"accountId"`
				RoleArns   map[string]string `json:"roleArns"`
				ExternalID string            `json:"externalId"`
			}
			out := b.mustPulumi(t, proj, "stack", "output", "handoff", "--json", "--stack", h.AccountID)
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			require.Equal(t, h.AccountID, got.AccountID)
			require.Equal(t, h.RoleArns, got.RoleArns)
			require.NotEmpty(t, got.RoleArns)
			require.Equal(t, h.ExternalID, got.ExternalID)
		}
	})

	step("the rollout takes a pulumi up stack over with no change", func(t *testing.T) {
		id := cases["streamkap"].account
		out, errOut, code := b.rolloutCmd(t, "up", "--vendor", "streamkap", "--account", id, "--backend", b.backend, "--output", "json")
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		var rep rollout.Report
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		require.Len(t, rep.Results, 1)
		r := rep.Results[0]
		require.Equal(t, rollout.StatusSucceeded, r.Status, r.Error)
		for op, n := range r.Changes {
			require.True(t, op == "same" || n == 0, "the takeover must change no resource, got %v", r.Changes)
		}

		out, errOut, code = b.rolloutCmd(t, "status", "--account", id, "--backend", b.backend, "--output", "json")
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		require.Contains(t, out, id)
		out, errOut, code = b.rolloutCmd(t, "verify", "--vendor", "streamkap", "--account", id)
		require.Equal(t, 0, code, "verify: %s\n%s", out, errOut)
		out, errOut, code = b.rolloutCmd(t, "drift", "--vendor", "streamkap", "--account", id, "--backend", b.backend)
		require.Equal(t, 0, code, "drift: %s\n%s", out, errOut)
	})

	step("destroy leaves no vendor entity", func(t *testing.T) {
		var destroys [][]string
		for _, name := range order {
			destroys = append(destroys, []string{"destroy", "--yes", "--skip-preview", "--stack", cases[name].account})
		}
		outs := b.mustPulumiAll(t, proj, destroys...)
		for i, name := range order {
			if name == "streamkap" {
				t.Logf("pulumi destroy of main.go for streamkap:\n%s", outs[i])
			}
			b.requireNoVendorEntities(t, cases[name].account)
		}
	})
}

// testGo deploys examples/go, a program in a Go module of its own that imports components and
// vendors, into its account.
func testGo(t *testing.T, b *bench) {
	dir := t.TempDir()
	copyTree(t, filepath.Join(b.root, "examples", "go"), dir, nil)
	// The example points at the checkout relative to its own folder; from the copy, absolutely.
	gomod := exec.Command("go", "mod", "edit", "-replace", "github.com/byoc-access/byoc-access="+b.root)
	gomod.Dir = dir
	out, err := gomod.CombinedOutput()
	require.NoError(t, err, string(out))
	b.deployExample(t, dir, b.org.Accounts["go"], "--vendor", "datadog", "--param", "external_id=0123456789abcdef0123456789abcdef")
}

// testTypeScript deploys examples/typescript through `pulumi package add` of provider/.
func testTypeScript(t *testing.T, b *bench) {
	modules := nodeModules(t)
	dir := t.TempDir()
	copyTree(t, filepath.Join(b.root, "examples", "typescript"), dir, nil)
	cp := exec.Command("cp", "-a", filepath.Join(modules, "node_modules"), filepath.Join(modules, "package-lock.json"), dir)
	out, err := cp.CombinedOutput()
	require.NoError(t, err, string(out))
	b.addComponentPackage(t, dir)
	b.deployExample(t, dir, b.org.Accounts["typescript"], "--vendor", "streamkap", "--param", "external_id=sk-tenant-7", "--tag", "Team=data")
}

// testYAML deploys examples/yaml with its packages entry pointed at the checkout's provider/.
func testYAML(t *testing.T, b *bench) {
	dir := t.TempDir()
	copyTree(t, filepath.Join(b.root, "examples", "yaml"), dir, nil)
	project := filepath.Join(dir, "Pulumi.yaml")
	text, err := os.ReadFile(project)
	require.NoError(t, err)
	const published = "https://github.com/byoc-access/byoc-access/provider@v0.1.0"
	require.Contains(t, string(text), published)
	provider := filepath.Join(b.root, "provider")
	require.NoError(t, os.WriteFile(project, []byte(strings.ReplaceAll(string(text), published, provider)), 0o644))
	t.Logf("component provider: %s (run from source by the Go language host)", provider)
	b.deployExample(t, dir, b.org.Accounts["yaml"], "--vendor", "streamnative", "--param", "external_id=o-abcde",
		"--param", `ebs_kms_key_arns=["`+ebsKey+`"]`, "--param", "s3_kms_key_arns="+s3Key)
}

// addComponentPackage runs `pulumi package add` of the checkout's provider/ in a project, as
// README.md tells a user to (with the published address there).
func (b *bench) addComponentPackage(t *testing.T, dir string) {
	t.Helper()
	provider := filepath.Join(b.root, "provider")
	b.mustPulumi(t, dir, "package", "add", provider)
	t.Logf("component provider: %s (run from source by the Go language host)", provider)
}

// deployExample deploys an example project into an account, requires its IAM to equal render,
// a re-run to change nothing, and destroy to leave nothing.
func (b *bench) deployExample(t *testing.T, dir, accountID string, renderArgs ...string) {
	t.Helper()
	b.initStack(t, dir, "dev", accountID, nil)
	b.mustPulumi(t, dir, "up", "--yes", "--skip-preview", "--stack", "dev")
	b.requireLiveEqualsRender(t, accountID, renderArgs...)
	b.mustPulumi(t, dir, "destroy", "--yes", "--skip-preview", "--stack", "dev")
	b.requireNoVendorEntities(t, accountID)
}

// nodeModules returns the folder whose node_modules holds the TypeScript example's packages.
func nodeModules(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(NodeModulesDirEnv); dir != "" {
		return dir
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	var stderr strings.Builder
	cmd := exec.Command(filepath.Join(root, "scripts", "install-node-modules.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "the TypeScript example's npm packages: scripts/install-node-modules.sh: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
