package rollout

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// endedPid is the pid of a process that has certainly ended: a child that ran and was reaped.
func endedPid(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	require.NoError(t, c.Run())
	return c.Process.Pid
}

// TestUnlockRemovesOnlyItsOwnLock: after a timeout the run removes the lock one of the
// account's own ended CLI children left (in either backend layout), and no other: not another
// process's, not another host's, not another stack's, and not one whose pid is running again
// (reused by some other process since the child ended).
func TestUnlockRemovesOnlyItsOwnLock(t *testing.T) {
	dir := t.TempDir()
	st, err := backend.Open(context.Background(), "file://"+dir, aws.Config{})
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	ours, theirs, running := endedPid(t), endedPid(t), os.Getpid()
	write := func(key string, pid int, host string) {
		b, err := json.Marshal(map[string]any{"pid": pid, "username": "ci", "hostname": host, "timestamp": time.Now()})
		require.NoError(t, err)
		require.NoError(t, st.Write(context.Background(), key, b))
	}
	const project, dirOf = "byoc-access", ".pulumi/locks/organization/byoc-access/"
	write(dirOf+"111111111111/ours.json", ours, host)
	write(".pulumi/locks/111111111111/ours-legacy.json", ours, host)
	write(dirOf+"111111111111/other-process.json", theirs, host)
	write(dirOf+"111111111111/other-host.json", ours, "ci-runner-7")
	write(dirOf+"111111111111/pid-reused.json", running, host)
	write(dirOf+"222222222222/other-stack.json", ours, host)

	r := &Runner{dep: Deployment{Project: project}, store: st, cli: &childCLI{pids: map[string]map[int]bool{
		"111111111111": {ours: true, running: true},
		"222222222222": {},
	}}}
	(&pass{Runner: r}).unlock(targets.Account{ID: "111111111111"})

	left, err := st.List(context.Background(), ".pulumi/locks/")
	require.NoError(t, err)
	sort.Strings(left)
	require.Equal(t, []string{
		dirOf + "111111111111/other-host.json",
		dirOf + "111111111111/other-process.json",
		dirOf + "111111111111/pid-reused.json",
		dirOf + "222222222222/other-stack.json",
	}, left)
	require.Empty(t, r.cli.ended("111111111111"), "the account's pids are forgotten once used")
}

func TestChildEnvDropsThePassphrase(t *testing.T) {
	tests := []struct {
		name   string
		parent []string
		extra  []string
		want   []string
	}{
		{
			name:   "the parent's passphrase variables are dropped, the workspace's file kept",
			parent: []string{"HOME=/root", "PULUMI_CONFIG_PASSPHRASE=s3cret", "PULUMI_CONFIG_PASSPHRASE_FILE=/home/u/pass", "PATH=/usr/bin"},
			extra:  []string{"PULUMI_CONFIG_PASSPHRASE_FILE=/run/byoc/passphrase", "PULUMI_BACKEND_URL=file:///s"},
			want: []string{"HOME=/root", "PATH=/opt/pulumi/bin:/usr/bin", "PULUMI_CONFIG_PASSPHRASE_FILE=/run/byoc/passphrase",
				"PULUMI_BACKEND_URL=file:///s", "PULUMI_AUTOMATION_API=true"},
		},
		{
			name:   "an empty passphrase is dropped too (the CLI would take it as the passphrase)",
			parent: []string{"PULUMI_CONFIG_PASSPHRASE="},
			want:   []string{"PULUMI_AUTOMATION_API=true", "PATH=/opt/pulumi/bin"},
		},
		{
			name:   "variables that only start alike stay",
			parent: []string{"PULUMI_CONFIG_PASSPHRASE_HINT=x", "PATH="},
			want:   []string{"PULUMI_CONFIG_PASSPHRASE_HINT=x", "PATH=/opt/pulumi/bin", "PULUMI_AUTOMATION_API=true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ElementsMatch(t, tt.want, childEnv(tt.parent, tt.extra, "/opt/pulumi/bin"))
		})
	}
}

func TestStackArg(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up", "--yes", "--stack", "prod-111111111111"}, "prod-111111111111"},
		{[]string{"stack", "select", "--stack=111111111111"}, "111111111111"},
		{[]string{"config", "set-all", "-s", "111111111111", "--path"}, "111111111111"},
		{[]string{"stack", "ls", "--json"}, ""},
		{[]string{"--non-interactive", "stack", "init", "111111111111", "--secrets-provider", "passphrase"}, "111111111111"},
		{[]string{"stack", "init", "--secrets-provider", "passphrase", "111111111111"}, "111111111111"},
		{[]string{"run", "--", "--stack", "x"}, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, stackArg(tt.args), strings.Join(tt.args, " "))
	}
}

// TestPassphraseFileLifetime: one file for all the runs in progress, private, gone when the
// last one ends.
func TestPassphraseFileLifetime(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	f := &passphraseFile{phrase: "correct horse"}
	p1, release1, err := f.acquire()
	require.NoError(t, err)
	p2, release2, err := f.acquire()
	require.NoError(t, err)
	require.Equal(t, p1, p2, "runs in progress share the file")
	b, err := os.ReadFile(p1)
	require.NoError(t, err)
	require.Equal(t, "correct horse", string(b))
	info, err := os.Stat(p1)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	info, err = os.Stat(strings.TrimSuffix(p1, "/passphrase"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	require.True(t, strings.HasPrefix(p1, os.Getenv("XDG_RUNTIME_DIR")), "in the user's runtime folder when there is one")

	release1()
	release1() // a second call changes nothing
	require.FileExists(t, p1, "a run is still in progress")
	release2()
	require.NoFileExists(t, p1)
	require.NoDirExists(t, strings.TrimSuffix(p1, "/passphrase"))

	p3, release3, err := f.acquire()
	require.NoError(t, err)
	defer release3()
	require.FileExists(t, p3, "a new run gets a new file")
}
