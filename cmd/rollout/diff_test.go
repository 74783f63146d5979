package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// specWithStatement is the streamnative preset with one statement added to its management
// policy, as a vendor's upgrade might add it.
func specWithStatement(t *testing.T) string {
	t.Helper()
	preset, err := os.ReadFile(filepath.Join("..", "..", "vendors", "presets", "streamnative.yaml"))
	require.NoError(t, err)
	anchor := "    description: \"This policy sets the limits for the management role needed for StreamNative's vendor access.\"\n" +
		"    document:\n      Version: '2012-10-17'\n      Statement:\n"
	require.Contains(t, string(preset), anchor)
	added := "      - Sid: ReadTrail\n        Effect: Allow\n        Action: [\"cloudtrail:LookupEvents\"]\n" +
		"        Resource: \"arn:aws:cloudtrail:*:${account_id}:trail/snc-*\"\n"
	file := filepath.Join(t.TempDir(), "streamnative-next.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(preset), anchor, anchor+added, 1)), 0o600))
	return file
}

func TestDiffPrintsTheOneStatementASpecAdds(t *testing.T) {
	next := specWithStatement(t)
	want := `policy/StreamNativeCloudManagementPolicy: + statement {"Action":["cloudtrail:LookupEvents"],"Effect":"Allow",` +
		`"Resource":["arn:aws:cloudtrail:*:000000000000:trail/snc-*"],"Sid":"ReadTrail"}`

	out, stderr, code := runCLI(t, "diff", "--from", "streamnative", "--to", next, "--param", "external_id=o-abcde")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want+"\n", out)

	// The other way round, the statement is removed.
	out, _, code = runCLI(t, "diff", "--from", next, "--to", "streamnative", "--param", "external_id=o-abcde")
	require.Equal(t, 0, code)
	require.Equal(t, strings.Replace(want, ": + ", ": - ", 1)+"\n", out)

	out, _, code = runCLI(t, "diff", "--from", "streamnative", "--to", next, "--output", "json")
	require.Equal(t, 0, code)
	var d struct {
		Lines []struct{ Resource, Op, What, Item, Flag string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Len(t, d.Lines, 1)
	require.Equal(t, "statement", d.Lines[0].What)

	out, _, code = runCLI(t, "diff", "--from", "streamnative", "--to", next, "--output", "markdown")
	require.Equal(t, 0, code)
	require.Contains(t, out, "```diff\n+ policy/StreamNativeCloudManagementPolicy statement {\"Action\":[\"cloudtrail:LookupEvents\"]")

	out, _, code = runCLI(t, "diff", "--from", "streamnative", "--to", "streamnative")
	require.Equal(t, 0, code)
	require.Equal(t, "no IAM changes from streamnative to streamnative\n", out)
}

func TestDiffBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"diff", "--from", "streamnative"}, "--from and --to are both required"},
		{"unknown preset", []string{"diff", "--from", "streamnative", "--to", "confluent"}, `--to confluent: unknown vendor "confluent"`},
		{"missing file", []string{"diff", "--from", "streamnative", "--to", "next.yaml"}, "--to next.yaml:"},
		{"parameter neither side has", []string{"diff", "--from", "streamnative", "--to", "streamkap", "--param", "bucket=x"}, "--param bucket: neither streamnative nor streamkap has a parameter bucket"},
		{"bad parameter value", []string{"diff", "--from", "streamnative", "--to", "streamnative", "--param", "create_bootstrap_role=maybe"}, "--from streamnative:"},
		{"bad output", []string{"diff", "--from", "streamnative", "--to", "streamnative", "--output", "html"}, `--output "html"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}
