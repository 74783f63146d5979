package pulumicli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/blang/semver"
	"github.com/stretchr/testify/require"
)

// fakeCLI writes a script that answers `version` with v, standing in for a pulumi binary.
func fakeCLI(t *testing.T, dir, name, v string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho "+v+"\n"), 0o755))
	return p
}

func TestFindPicksTheFirstRecentEnoughCLI(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	cache := t.TempDir()
	t.Setenv("BYOC_ACCESS_CACHE", cache)

	// Nothing anywhere: the error says how to get the CLI.
	t.Setenv("PULUMI_CLI", "")
	_, err := Find()
	require.ErrorContains(t, err, "no Pulumi CLI v"+Version)
	require.ErrorContains(t, err, "scripts/install-pulumi.sh")

	// Too old on PULUMI_CLI: skipped, with the reason, in favour of the cached build.
	old := fakeCLI(t, t.TempDir(), "pulumi", "v3.100.0")
	t.Setenv("PULUMI_CLI", old)
	_, err = Find()
	require.ErrorContains(t, err, "version 3.100.0 is older than "+Version)

	require.NoError(t, os.MkdirAll(filepath.Dir(CachedPath()), 0o755))
	fakeCLI(t, filepath.Dir(CachedPath()), "pulumi", "v"+Version)
	cmd, err := Find()
	require.NoError(t, err)
	require.Equal(t, Version, cmd.Version().String())

	again, err := Find()
	require.NoError(t, err)
	require.Equal(t, cmd, again, "one command per process, shared by every workspace")
}

func TestFindAcceptsABinaryNotNamedPulumi(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("BYOC_ACCESS_CACHE", t.TempDir())
	t.Setenv("PULUMI_CLI", fakeCLI(t, t.TempDir(), "pulumi-3.250", "v3.251.0"))
	cmd, err := Find()
	require.NoError(t, err)
	require.Equal(t, "3.251.0", cmd.Version().String())
}

func TestAWSPluginInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	home := t.TempDir()
	t.Setenv("PULUMI_HOME", home)
	ok, _ := AWSPluginInstalled()
	require.False(t, ok)
	require.ErrorContains(t, MissingAWSPlugin(), "pulumi plugin install resource aws v"+AWSPluginVersion)

	dir := filepath.Join(home, "plugins", "resource-aws-v6.83.0")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	fakeCLI(t, dir, "pulumi-resource-aws", "")
	require.NoError(t, os.WriteFile(dir+".partial", nil, 0o644))
	ok, _ = AWSPluginInstalled()
	require.False(t, ok, "a half-installed plugin does not count")

	require.NoError(t, os.Remove(dir+".partial"))
	ok, where := AWSPluginInstalled()
	require.True(t, ok)
	require.Equal(t, filepath.Join(dir, "pulumi-resource-aws"), where)

	// A v5 plugin is not the one the SDK is generated for.
	require.NoError(t, os.RemoveAll(dir))
	v5 := filepath.Join(home, "plugins", "resource-aws-v5.42.0")
	require.NoError(t, os.MkdirAll(v5, 0o755))
	fakeCLI(t, v5, "pulumi-resource-aws", "")
	ok, _ = AWSPluginInstalled()
	require.False(t, ok)

	// One on PATH counts.
	bin := t.TempDir()
	fakeCLI(t, bin, "pulumi-resource-aws", "")
	t.Setenv("PATH", bin)
	ok, where = AWSPluginInstalled()
	require.True(t, ok)
	require.Equal(t, filepath.Join(bin, "pulumi-resource-aws"), where)
}

// TestAWSPluginPath: the rollout's shared provider is the plugin of exactly the version the
// program asks for, in the run's plugin folder; the installed check takes any v6.
func TestAWSPluginPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("PULUMI_HOME", t.TempDir())
	home := t.TempDir()
	for _, v := range []string{"6.83.0", "6.90.0"} {
		dir := filepath.Join(home, "plugins", "resource-aws-v"+v)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		fakeCLI(t, dir, "pulumi-resource-aws", "")
	}
	require.Equal(t, filepath.Join(home, "plugins", "resource-aws-v6.83.0", "pulumi-resource-aws"), AWSPluginPath(home, "6.83.0"))
	require.Equal(t, filepath.Join(home, "plugins", "resource-aws-v6.90.0", "pulumi-resource-aws"), AWSPluginPath(home, ""))
	require.Empty(t, AWSPluginPath(home, "6.84.0"))
	require.Empty(t, AWSPluginPath("", "6.83.0"), "$PULUMI_HOME has none")
}

func TestFindSaysWhatIsMissingWithAType(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("BYOC_ACCESS_CACHE", t.TempDir())
	t.Setenv("PULUMI_CLI", fakeCLI(t, t.TempDir(), "pulumi", "v3.100.0"))
	_, err := Find()
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf, "callers tell a missing CLI from bad input by type")
	require.Len(t, nf.Tried, 2, "PULUMI_CLI and the cache")
	require.Contains(t, nf.Tried[0], "version 3.100.0 is older than "+Version)
}

func TestEngineVersions(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{Version, true},
		{"3.250.1", true},
		{"3.249.0", false},
		{"3.251.0", false},
		{"3.300.0", false},
		{"4.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			require.Equal(t, tt.want, EngineSupported(semver.MustParse(tt.version)))
		})
	}
	require.True(t, EngineSupported(semver.MustParse(Version)), "the pinned CLI is in the engine's range")
}

func TestAtChecksTheVersion(t *testing.T) {
	_, err := At(fakeCLI(t, t.TempDir(), "pulumi", "v3.1.0"))
	require.ErrorContains(t, err, "older than "+Version)
	cmd, err := At(fakeCLI(t, t.TempDir(), "pulumi", "v3.251.0"))
	require.NoError(t, err)
	require.Equal(t, "3.251.0", cmd.Version().String())
}
