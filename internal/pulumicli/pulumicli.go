package pulumicli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Version is the CLI version the project's Automation API expects (sdk/v3 is pinned to it).
const Version = "3.250.0"

// EngineVersions is the range of CLI versions the rollout's single-process engine is tested
// against: it passes the CLI flags the Automation API uses internally (--client, --exec-kind,
// --event-log, all hidden, so any release may change them), serves the program itself, and
// reads the engine's event log. rollout/contract_test.go runs each CLI it is given and fails
// when that behaviour changes. A CLI outside the range still works, through the public
// auto.Stack operations (slower: several CLI processes per account). Widen it only after the
// contract tests pass on the new versions.
const EngineVersions = ">=3.250.0 <3.251.0"

var engineRange = semver.MustParseRange(EngineVersions)

// EngineSupported reports whether the single-process engine may drive CLI version v.
func EngineSupported(v semver.Version) bool { return engineRange(v) }

// AWSPluginVersion is the pulumi-aws version the project's SDK is generated from.
const AWSPluginVersion = "6.83.0"

// Find returns a Pulumi CLI of Version or newer: PULUMI_CLI, then pulumi on PATH, then the
// copy scripts/install-pulumi.sh builds and caches. The command is made once per process (per
// set of candidates) and shared, because every check costs a `pulumi version` run.
func Find() (auto.PulumiCommand, error) {
	cmd, _, err := findWithPath()
	return cmd, err
}

// FindPath returns the path of the pulumi binary Find chooses, for callers that run the CLI as
// a user does (`pulumi up` in a project folder) or look beside it for its bundled plugins.
func FindPath() (string, error) {
	_, bin, err := findWithPath()
	return bin, err
}

func findWithPath() (auto.PulumiCommand, string, error) {
	var candidates []string
	if p := os.Getenv("PULUMI_CLI"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, CachedPath())
	key := strings.Join(candidates, "\x00")

	found.mu.Lock()
	defer found.mu.Unlock()
	if f, ok := found.cmds[key]; ok {
		return f.cmd, f.bin, nil
	}
	cmd, bin, err := find(candidates)
	if err != nil {
		// Not remembered: the CLI may be installed while the process runs (tests, retries).
		return nil, "", err
	}
	if found.cmds == nil {
		found.cmds = map[string]foundCLI{}
	}
	found.cmds[key] = foundCLI{cmd: cmd, bin: bin}
	return cmd, bin, nil
}

type foundCLI struct {
	cmd auto.PulumiCommand
	bin string
}

var found struct {
	mu   sync.Mutex
	cmds map[string]foundCLI
}

func find(candidates []string) (auto.PulumiCommand, string, error) {
	min := semver.MustParse(Version)
	var tried []string
	for _, c := range candidates {
		v, err := version(c)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", c, err))
			continue
		}
		if v.LT(min) {
			tried = append(tried, fmt.Sprintf("%s: version %s is older than %s", c, v, min))
			continue
		}
		cmd, err := command(c)
		if err != nil {
			// The machine's problem (a CLI root that cannot be prepared), not the user's input:
			// it must not read as a usage error.
			return nil, "", &NotFoundError{Tried: append(tried, fmt.Sprintf("%s: %v", c, err))}
		}
		return cmd, c, nil
	}
	return nil, "", &NotFoundError{Tried: tried}
}

// At returns the command for one given pulumi binary of Version or newer, for tests that run
// several CLIs (the engine's contract tests).
func At(bin string) (auto.PulumiCommand, error) {
	v, err := version(bin)
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI %s: %w", bin, err)
	}
	if min := semver.MustParse(Version); v.LT(min) {
		return nil, fmt.Errorf("pulumi CLI %s: version %s is older than %s", bin, v, min)
	}
	return command(bin)
}

func command(bin string) (auto.PulumiCommand, error) {
	// NewPulumiCommand looks for Root/bin/pulumi, so give it a root whose bin holds bin.
	root, err := rootFor(bin)
	if err != nil {
		return nil, err
	}
	// The version was just checked; NewPulumiCommand still runs `pulumi version` once to
	// record it, but need not judge it again.
	return auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, Version: semver.MustParse(Version), SkipVersionCheck: true})
}

// PassphraseEnv are the variables that carry the secrets passphrase. A CLI child gets them only
// from the rollout itself (as a private file), never inherited from the parent's environment.
var PassphraseEnv = []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"}

// WithoutPassphrase is an environment (KEY=VALUE entries) without PassphraseEnv.
func WithoutPassphrase(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(PassphraseEnv, k) {
			out = append(out, kv)
		}
	}
	return out
}

// NotFoundError says no usable Pulumi CLI was found, and how to get one. Callers tell it apart
// from bad input with errors.As.
type NotFoundError struct {
	// Tried is each candidate looked at, with why it was not used.
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no Pulumi CLI v%s: run scripts/install-pulumi.sh, which builds and caches it (or set PULUMI_CLI to a pulumi v%s or newer); tried %s",
		Version, Version, strings.Join(e.Tried, "; "))
}

// CachedPath is where scripts/install-pulumi.sh caches the CLI it builds.
func CachedPath() string {
	cache := os.Getenv("BYOC_ACCESS_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = filepath.Join(os.Getenv("HOME"), ".cache")
		}
		cache = filepath.Join(dir, "byoc-access")
	}
	return filepath.Join(cache, "pulumi-v"+Version, "pulumi")
}

func version(bin string) (semver.Version, error) {
	// Bounded, so that a hung binary on PATH cannot hang the whole run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "version")
	// `pulumi version` needs no secret: the passphrase stays out of its environment.
	cmd.Env = append(WithoutPassphrase(os.Environ()), "PULUMI_SKIP_UPDATE_CHECK=true")
	out, err := cmd.Output()
	if err != nil {
		return semver.Version{}, err
	}
	return semver.ParseTolerant(strings.TrimSpace(string(out)))
}

// rootFor returns a directory whose bin/pulumi is bin: its own parent when it already lives in
// a bin folder, otherwise a private folder with a link to it.
func rootFor(bin string) (string, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if filepath.Base(filepath.Dir(bin)) == "bin" && filepath.Base(bin) == "pulumi" {
		return filepath.Dir(filepath.Dir(bin)), nil
	}
	root := filepath.Join(filepath.Dir(bin), ".root")
	if err := linkRoot(root, bin); err == nil {
		return root, nil
	}
	// The binary's folder may be read-only (a system install): link from a private folder.
	root, err = os.MkdirTemp("", "byoc-access-pulumi-")
	if err != nil {
		return "", fmt.Errorf("prepare Pulumi CLI root: %w", err)
	}
	if err := linkRoot(root, bin); err != nil {
		return "", fmt.Errorf("prepare Pulumi CLI root: %w", err)
	}
	return root, nil
}

func linkRoot(root, bin string) error {
	link := filepath.Join(root, "bin", "pulumi")
	if target, err := os.Readlink(link); err == nil && target == bin {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	_ = os.Remove(link)
	return os.Symlink(bin, link)
}

// AWSPluginInstalled reports whether pulumi-resource-aws v6 can be loaded, and where it is.
func AWSPluginInstalled() (bool, string) {
	p := AWSPluginPath("", "")
	return p != "", p
}

// AWSPluginPath returns the pulumi-resource-aws the CLI loads: the one on PATH, which it
// prefers, else one in the plugin folder of home ("" for $PULUMI_HOME, else ~/.pulumi): of
// exactly version, or with version "" the newest v6. "" when there is none.
func AWSPluginPath(home, version string) string {
	if p, err := exec.LookPath("pulumi-resource-aws"); err == nil {
		return p
	}
	if home == "" {
		home = os.Getenv("PULUMI_HOME")
	}
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		home = filepath.Join(h, ".pulumi")
	}
	if version == "" {
		version = "6.*"
	}
	matches, _ := filepath.Glob(filepath.Join(home, "plugins", "resource-aws-v"+version, "pulumi-resource-aws"))
	for i := len(matches) - 1; i >= 0; i-- {
		// The CLI marks a plugin it is still unpacking (or failed to) with a .partial file.
		dir := filepath.Dir(matches[i])
		if _, err := os.Stat(dir + ".partial"); err == nil {
			continue
		}
		return matches[i]
	}
	return ""
}

// MissingAWSPlugin says what is missing and how to get it.
func MissingAWSPlugin() error {
	return fmt.Errorf("the Pulumi AWS provider plugin (pulumi-resource-aws v%s) is not installed, and deploying IAM roles and policies needs it: "+
		"run `pulumi plugin install resource aws v%s` on a machine with internet access, or put a pulumi-resource-aws binary on PATH; "+
		"`rollout render` and `rollout verify` work without it", AWSPluginVersion, AWSPluginVersion)
}
