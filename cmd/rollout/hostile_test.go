package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
)

// hostileMemoryKB caps the virtual memory of each run of the corpus (ulimit -v): the Go
// runtime and its threads start in well under it (with glibc's malloc arenas limited, which
// reserve 64 MB of address space per thread otherwise), and the alias bomb and the nesting
// below took 4.5 GB and 23.7 GB before they were bounded.
const hostileMemoryKB = 2_000_000

// hostileSpec is a small valid spec; the corpus breaks it one way at a time.
const hostileSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
policies:
  - id: read
    name: AcmeRead
    document:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: ["s3:GetObject"], Resource: ["%s"]}
roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]
    policies:
      - policy: read
`

// aliasBombYAML is nine levels of nine aliases each: 387 million nodes once expanded.
func aliasBombYAML(key string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  a0: &a0 [x,x,x,x,x,x,x,x,x]\n", key)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	return b.String()
}

// TestHostileInputCorpus runs the rollout binary, under a memory cap, on inputs a new user
// (or an attacker with write access to a spec) might hand it: bombs, oversized and malformed
// files, repeated flags, values out of range. Each must exit 2 naming the field or file and
// the problem, write nothing (no state, no run directory), and stay under the cap.
func TestHostileInputCorpus(t *testing.T) {
	if _, err := pulumicli.Find(); err != nil {
		testenv.Missing(t, "the Pulumi CLI is needed (rollout up checks it before reading the accounts): %v", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash is needed to cap memory with ulimit -v: %v", err)
	}
	bin := testenv.RolloutBinary(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return name
	}
	good := write("acme.yaml", fmt.Sprintf(hostileSpec, "arn:aws:s3:::acme-exports/*"))
	accounts := write("accounts.csv", "id,name\n111122223333,app\n")
	pass := write("passphrase", "correct horse battery staple\n")
	write("a-file", "not a directory\n")
	bigActions := "  - id: big\n    name: Big\n    document:\n      Statement:\n        - Effect: Allow\n          Resource: \"*\"\n          Action:\n" +
		strings.Repeat("            - s3:GetObject\n", 5<<20/28)
	inputs := map[string]string{
		"bomb.yaml":       fmt.Sprintf(hostileSpec, "arn:aws:s3:::x") + aliasBombYAML("x-bomb"),
		"nested.yaml":     "apiVersion: byoc-access/v1\nparameters: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n",
		"huge.yaml":       strings.Replace(fmt.Sprintf(hostileSpec, "arn:aws:s3:::x"), "policies:\n", "policies:\n"+bigActions, 1),
		"badbytes.yaml":   fmt.Sprintf(hostileSpec, "arn:aws:s3:::acme-exports\xff\xfe"),
		"badvendor.yaml":  strings.Replace(fmt.Sprintf(hostileSpec, "arn:aws:s3:::x"), "vendor: Acme", "vendor: Acme\xc3\x28", 1),
		"accounts.yaml":   "accounts:\n  - id: \"111122223333\"\n" + aliasBombYAML("x-bomb"),
		"latin1.csv":      "id,name\n111122223333,caf\xe9\n",
		"params.yaml":     "\"111122223333\": {external_id: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "}\n",
		"template.yaml":   "Resources: {}\n" + aliasBombYAML("Mappings"),
		"template-b.yaml": "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: caf\xe9\n",
	}
	for name, body := range inputs {
		write(name, body)
	}
	dd := []string{"--vendor", "datadog", "--param", "external_id=dd-4f1c9a"}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		// Unbounded YAML: every kind of file the rollout reads.
		{"alias bomb in a spec", []string{"up", "--spec", "bomb.yaml"}, []string{"bomb.yaml:", "aliases expand to more than 10000 nodes", "input limit"}},
		{"nesting in a spec", []string{"up", "--spec", "nested.yaml"}, []string{"nested.yaml:2", "nest more than 64 deep", "input limit"}},
		{"a 5 MB action list", []string{"up", "--spec", "huge.yaml"}, []string{"huge.yaml", "over the input limit of 4 MiB"}},
		{"alias bomb in an accounts file", append([]string{"up", "--accounts-file", "accounts.yaml"}, dd...), []string{"accounts.yaml", "aliases expand"}},
		{"nesting in a parameters file", append([]string{"up", "--params-file", "params.yaml"}, dd...), []string{"--params-file", "params.yaml:1", "nest more than 64 deep"}},
		{"alias bomb in a CloudFormation template", []string{"vendors", "import", "--from-cfn", "template.yaml", "--name", "acme"}, []string{"--from-cfn", "template.yaml", "aliases expand"}},
		{"a passphrase file that never ends", append([]string{"up", "--passphrase-file", "/dev/zero"}, dd...), []string{"--passphrase-file", "/dev/zero", "input limit"}},
		// Invalid UTF-8.
		{"invalid UTF-8 in a resource ARN", []string{"up", "--spec", "badbytes.yaml"}, []string{"badbytes.yaml:10:", "not UTF-8"}},
		{"invalid UTF-8 in the vendor name, render", []string{"render", "--spec", "badvendor.yaml", "--account-id", "111122223333"}, []string{"badvendor.yaml:2:", "not UTF-8"}},
		{"invalid UTF-8 in an accounts file", append([]string{"up", "--accounts-file", "latin1.csv"}, dd...), []string{"latin1.csv: line 2", "not UTF-8"}},
		{"invalid UTF-8 in a template", []string{"vendors", "import", "--from-cfn", "template-b.yaml", "--name", "acme"}, []string{"template-b.yaml:5:", "not UTF-8"}},
		{"invalid UTF-8 in a --param value", []string{"up", "--vendor", "streamkap", "--param", "role_name=Acme\xff"}, []string{"--param is not UTF-8 text"}},
		// A flag given twice.
		{"--vendor twice", []string{"up", "--vendor", "streamkap", "--vendor", "datadog"}, []string{"--vendor is given twice"}},
		{"--backend twice", append([]string{"up", "--backend", "file://" + dir + "/s1", "--backend", "file://" + dir + "/s2"}, dd...), []string{"--backend is given twice"}},
		{"--spec twice", []string{"up", "--spec", good, "--spec", good}, []string{"--spec is given twice"}},
		{"--accounts-file twice", append([]string{"up", "--accounts-file", accounts, "--accounts-file", accounts}, dd...), []string{"--accounts-file is given twice"}},
		{"--output twice", append([]string{"up", "--output", "json", "--output", "text"}, dd...), []string{"--output is given twice"}},
		// Values.
		{"an unknown region", append([]string{"up", "--region", "mars-north-9"}, dd...), []string{"--region", "mars-north-9"}},
		{"a region with a shell command", append([]string{"up", "--region", "us-east-1; rm -rf /"}, dd...), []string{"--region", "rm -rf"}},
		{"an unknown region, render", append([]string{"render", "--account-id", "111122223333", "--region", "mars-north-9"}, dd...), []string{"--region", "mars-north-9"}},
		{"an unknown partition, render", append([]string{"render", "--account-id", "111122223333", "--partition", "aws-mars"}, dd...), []string{"--partition", "aws-mars"}},
		{"an execution role in another partition", append([]string{"up", "--execution-role", "arn:aws-cn:iam::{account}:role/Deployer"}, dd...), []string{"--execution-role", "aws-cn", "us-east-1"}},
		{"s3:// without a bucket", append([]string{"up", "--backend", "s3://"}, dd...), []string{"--backend", "no bucket"}},
		{"a JSON object for a list parameter", []string{"up", "--vendor", "streamnative", "--param", "external_id=o-abcde", "--param", `vpc_allowed_ids={"a":1}`}, []string{"vpc_allowed_ids", "JSON object"}},
		{"a stray argument", append([]string{"up", "111122223333"}, dd...), []string{"takes no arguments", "111122223333"}},
		{"--run-dir naming a file", append([]string{"up", "--run-dir", "a-file"}, dd[:2]...), []string{"--run-dir a-file is a file"}},
		{"a missing --param-from-command program", []string{"up", "--vendor", "datadog", "--param-from-command", "external_id=/nonexistent/dd-id"}, []string{"--param-from-command external_id", "/nonexistent/dd-id"}},
		{"--parallel 1000000", append([]string{"up", "--parallel", "1000000"}, dd...), []string{"--parallel 1000000", "want 1 to 256"}},
		{"a negative --older-than", []string{"unlock", "--older-than", "-1h"}, []string{"--older-than -1h"}},
		// The backend directory is not made before the later inputs are checked.
		{"a bad parameters file, the state directory not made", append([]string{"up", "--params-file", "missing.yaml"}, dd...), []string{"--params-file", "missing.yaml"}},
		{"an unknown secret parameter, the state directory not made", append([]string{"up", "--secret-param", "nope"}, dd...), []string{"--secret-param nope"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case is a process, mostly waiting
			state, runs := filepath.Join(dir, fmt.Sprintf("state-%d", i)), filepath.Join(dir, fmt.Sprintf("runs-%d", i))
			args := tt.args
			if args[0] == "up" && !containsArg(args, "--backend") {
				args = append(args, "--backend", "file://"+state)
			}
			if (args[0] == "up") && !containsArg(args, "--run-dir") {
				args = append(args, "--run-dir", runs)
			}
			if args[0] == "up" && !containsArg(args, "--accounts-file") {
				args = append(args, "--accounts-file", accounts)
			}
			stderr, code, took := runCapped(t, bin, dir, pass, args...)
			head := stderr[:min(len(stderr), 2048)]
			require.NotContains(t, head, "fatal error", "the memory cap was hit")
			require.NotContains(t, head, "pthread_create failed", "the memory cap was hit")
			require.Equal(t, exitUsage, code, "stderr: %s", head)
			for _, w := range tt.want {
				require.Contains(t, stderr, w, "stderr: %s", head)
			}
			require.Less(t, len(stderr), 4096, "a bounded message: %s", head)
			require.Less(t, took, 30*time.Second, "refused at once, even on a loaded machine")
			for _, p := range []string{state, runs, filepath.Join(dir, ".byoc-access"), filepath.Join(dir, "s1"), filepath.Join(dir, "s2")} {
				_, err := os.Stat(p)
				require.True(t, errors.Is(err, os.ErrNotExist), "%s was written", p)
			}
		})
	}
}

// runCapped runs the rollout binary in dir under ulimit -v, and returns its stderr and exit
// code.
func runCapped(t *testing.T, bin, dir, passFile string, args ...string) (string, int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, hostileMemoryKB)
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", script, bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG_PASSPHRASE=", "PULUMI_CONFIG_PASSPHRASE_FILE="+filepath.Join(dir, passFile), "PULUMI_BACKEND_URL=",
		"MALLOC_ARENA_MAX=2", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://127.0.0.1:9")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %v: %v", args, err)
	}
	return stderr.String(), cmd.ProcessState.ExitCode(), took
}
