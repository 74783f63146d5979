// Package pulumicli finds the Pulumi CLI the Automation API drives, once per process, and
// tells whether the AWS provider plugin that real deployments need is installed.
package pulumicli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Version is the CLI version the project's Automation API expects (sdk/v3 is pinned to it).
const Version = "3.250.0"

// AWSPluginVersion is the pulumi-aws version the project's SDK is generated from.
const AWSPluginVersion = "6.83.0"

// Find returns a Pulumi CLI of Version or newer: PULUMI_CLI, then pulumi on PATH, then the
// copy scripts/install-pulumi.sh builds and caches.
func Find() (auto.PulumiCommand, error) {
	min := semver.MustParse(Version)
	var candidates []string
	if p := os.Getenv("PULUMI_CLI"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, CachedPath())
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
		// NewPulumiCommand looks for Root/bin/pulumi, so give it a root whose bin holds c.
		root, err := rootFor(c)
		if err != nil {
			return nil, err
		}
		return auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, Version: min})
	}
	return nil, fmt.Errorf("no Pulumi CLI v%s or newer (%s): run scripts/install-pulumi.sh, which builds and caches it, or set PULUMI_CLI",
		Version, strings.Join(tried, "; "))
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
	out, err := exec.Command(bin, "version").Output()
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
	link := filepath.Join(root, "bin", "pulumi")
	if target, err := os.Readlink(link); err == nil && target == bin {
		return root, nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return "", fmt.Errorf("prepare Pulumi CLI root: %w", err)
	}
	_ = os.Remove(link)
	if err := os.Symlink(bin, link); err != nil {
		return "", fmt.Errorf("prepare Pulumi CLI root: %w", err)
	}
	return root, nil
}

// AWSPluginInstalled reports whether pulumi-resource-aws v6 can be loaded, and where it is.
func AWSPluginInstalled() (bool, string) {
	if p, err := exec.LookPath("pulumi-resource-aws"); err == nil {
		return true, p
	}
	home := os.Getenv("PULUMI_HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = filepath.Join(h, ".pulumi")
		}
	}
	matches, _ := filepath.Glob(filepath.Join(home, "plugins", "resource-aws-v6.*", "pulumi-resource-aws"))
	if len(matches) > 0 {
		return true, matches[len(matches)-1]
	}
	return false, ""
}

// MissingAWSPlugin says what is missing and how to get it.
func MissingAWSPlugin() error {
	return fmt.Errorf("the Pulumi AWS provider plugin (pulumi-resource-aws v%s) is not installed, and deploying IAM roles and policies needs it: "+
		"run `pulumi plugin install resource aws v%s` on a machine with internet access, or put a pulumi-resource-aws binary on PATH; "+
		"`rollout render` and `rollout verify` work without it", AWSPluginVersion, AWSPluginVersion)
}
