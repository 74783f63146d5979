package params

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

func streamkap(t *testing.T) *vendors.VendorSpec {
	t.Helper()
	s, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	return s
}

// requiredSpec has a required external ID, as Datadog's does.
func requiredSpec(t *testing.T) *vendors.VendorSpec {
	t.Helper()
	s := *streamkap(t)
	s.Parameters = append([]vendors.Parameter(nil), s.Parameters...)
	for i := range s.Parameters {
		if s.Parameters[i].Name == "external_id" {
			s.Parameters[i].Required = true
			s.Parameters[i].Default = nil
		}
	}
	return &s
}

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := write(t, "cmd.sh", "#!/bin/sh\n"+body+"\n")
	require.NoError(t, os.Chmod(p, 0o755))
	return p
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name, file, text string
		want             map[string]map[string]string
		wantErr          []string
	}{
		{name: "yaml", file: "p.yaml", text: "\"111122223333\": {external_id: abc}\n444455556666:\n  external_id: \"0123\"\n  streamkap_principal_arns: [arn:aws:iam::1:role/a]\n",
			want: map[string]map[string]string{"111122223333": {"external_id": "abc"}, "444455556666": {"external_id": "0123", "streamkap_principal_arns": `["arn:aws:iam::1:role/a"]`}}},
		{name: "yaml keeps digits as written", file: "p.yml", text: "012345678901: {external_id: 000123}\n",
			want: map[string]map[string]string{"012345678901": {"external_id": "000123"}}},
		{name: "json", file: "p.json", text: `{"111122223333": {"external_id": "abc", "role_name": "R"}, "444455556666": {}}`,
			want: map[string]map[string]string{"111122223333": {"external_id": "abc", "role_name": "R"}, "444455556666": {}}},
		{name: "csv", file: "p.csv", text: "id,external_id,param:role_name\n111122223333,abc,\n444455556666,,R2\n",
			want: map[string]map[string]string{"111122223333": {"external_id": "abc"}, "444455556666": {"role_name": "R2"}}},
		{name: "bad account ID", file: "p.yaml", text: "\"1234\": {external_id: abc}\n", wantErr: []string{"p.yaml: line 1", `"1234"`, "12 digits"}},
		{name: "account twice", file: "p.csv", text: "id,external_id\n111122223333,a\n111122223333,b\n", wantErr: []string{"p.csv: row 3", "111122223333 is listed twice"}},
		{name: "not a map", file: "p.yaml", text: "- 111122223333\n", wantErr: []string{"p.yaml: line 1", "map of account IDs"}},
		{name: "account values not a map", file: "p.yaml", text: "\"111122223333\": abc\n", wantErr: []string{"account 111122223333", "map of parameter names"}},
		{name: "csv without id", file: "p.csv", text: "external_id\nabc\n", wantErr: []string{"row 1", "no id column"}},
		{name: "csv extra cells", file: "p.csv", text: "id,external_id\n111122223333,a,b\n", wantErr: []string{"row 2", "3 cells", "2 columns"}},
		{name: "empty", file: "p.yaml", text: "", wantErr: []string{"no accounts listed"}},
		{name: "extension", file: "p.txt", text: "x", wantErr: []string{"use a .yaml, .json or .csv file"}},
		{name: "yaml syntax", file: "p.yaml", text: "\"111122223333\": {external_id: [\n", wantErr: []string{"p.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LoadFile(write(t, tt.file, tt.text))
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					require.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			got := map[string]map[string]string{}
			for id, vals := range f.Accounts {
				got[id] = map[string]string{}
				for k, v := range vals {
					got[id][k] = v.Value
					require.Contains(t, v.Source, "params file")
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestLoadFileBadAccountIsTyped: a bad account ID in a parameters file is the shared
// *validate.Error, so callers can tell it from a file they could not read.
func TestLoadFileBadAccountIsTyped(t *testing.T) {
	_, err := LoadFile(write(t, "p.csv", "id,external_id\n1234,abc\n"))
	var bad *validate.Error
	require.ErrorAs(t, err, &bad)
	require.Equal(t, "1234", bad.Value)
	require.Contains(t, err.Error(), `p.csv: row 2: account ID "1234": an AWS account ID is exactly 12 digits`)
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "get-id", want: []string{"get-id"}},
		{in: "  get-id  --site eu ", want: []string{"get-id", "--site", "eu"}},
		{in: `tool 'a b' "c \"d\"" e\ f`, want: []string{"tool", "a b", `c "d"`, "e f"}},
		{in: `tool ''`, want: []string{"tool", ""}},
		{in: `tool 'a`, wantErr: "unclosed single quote"},
		{in: `tool "a`, wantErr: "unclosed double quote"},
		{in: `tool a\`, wantErr: "lone backslash"},
		{in: `tool $(rm -rf /) ; x`, want: []string{"tool", "$(rm", "-rf", "/)", ";", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SplitWords(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseFlags(t *testing.T) {
	c, err := ParseCommand("external_id=get-id --site 'us 5'")
	require.NoError(t, err)
	require.Equal(t, Command{Param: "external_id", Argv: []string{"get-id", "--site", "us 5"}}, c)
	for _, bad := range []string{"get-id", "=get-id", "external_id=", "external_id=  "} {
		_, err := ParseCommand(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "--param-from-command", bad)
	}
	name, key, err := ParseTag("external_id=datadog-external-id")
	require.NoError(t, err)
	require.Equal(t, []string{"external_id", "datadog-external-id"}, []string{name, key})
	for _, bad := range []string{"external_id", "=k", "external_id="} {
		_, _, err := ParseTag(bad)
		require.ErrorContains(t, err, "want NAME=TAGKEY", bad)
	}
}

// TestPrecedence: per-account values beat the fleet-wide --param, which beats the default;
// among per-account sources the parameters file beats the accounts file, which beats the tag,
// which beats the command, and a command runs only where nothing above gave a value.
func TestPrecedence(t *testing.T) {
	spec := streamkap(t)
	file, err := LoadFile(write(t, "p.yaml", "\"111111111111\": {external_id: from-file}\n"))
	require.NoError(t, err)
	ran := filepath.Join(t.TempDir(), "ran")
	cmd := Command{Param: "external_id", Argv: []string{script(t, `echo "$1" >> `+ran+`; echo "from-cmd-$1"`)}}
	accounts := []targets.Account{
		{ID: "111111111111", Params: map[string]string{"external_id": "from-column"}, Tags: map[string]string{"ext": "from-tag"}},
		{ID: "222222222222", Params: map[string]string{"external_id": "from-column"}, Tags: map[string]string{"ext": "from-tag"}},
		{ID: "333333333333", Tags: map[string]string{"ext": "from-tag"}},
		{ID: "444444444444"},
	}
	s := Sources{File: file, Tags: map[string]string{"external_id": "ext"}, Commands: map[string]Command{"external_id": cmd}}
	fleet := map[string]any{"external_id": "fleet-wide", "role_name": "FleetRole"}
	got, err := Resolve(context.Background(), spec, fleet, accounts, s, Options{})
	require.NoError(t, err)
	want := map[string]string{"111111111111": "from-file", "222222222222": "from-column", "333333333333": "from-tag", "444444444444": "from-cmd-444444444444"}
	for id, w := range want {
		require.NoError(t, got[id].Err)
		given := got[id].Given(fleet)
		require.Equal(t, w, given["external_id"], id)
		require.Equal(t, "FleetRole", given["role_name"], "fleet-wide values stay where no per-account value is set")
	}
	require.Contains(t, got["333333333333"].Values["external_id"].Source, "tag ext")
	require.Contains(t, got["222222222222"].Values["external_id"].Source, "accounts file column param:external_id")
	calls, err := os.ReadFile(ran)
	require.NoError(t, err)
	require.Equal(t, "444444444444\n", string(calls), "the command runs only for the account nothing else covered")

	// No per-account source: the fleet-wide value; no fleet-wide value: the spec's default.
	got, err = Resolve(context.Background(), spec, fleet, []targets.Account{{ID: "555555555555"}}, Sources{}, Options{})
	require.NoError(t, err)
	require.Equal(t, "fleet-wide", got["555555555555"].Given(fleet)["external_id"])
	resolved, err := spec.ResolveParams(got["555555555555"].Given(map[string]any{}))
	require.NoError(t, err)
	require.Equal(t, "", resolved["external_id"], "the spec's default")
}

// TestBadValuesUpFront: values known before any command runs are validated for every
// account, all problems are listed in one usage error, and no command runs.
func TestBadValuesUpFront(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	cmd := Command{Param: "role_name", Argv: []string{script(t, `touch `+ran+`; echo R`)}}
	file, err := LoadFile(write(t, "p.csv", "id,external_id\n111111111111,bad value!\n222222222222,ok-1\n"))
	require.NoError(t, err)
	tests := []struct {
		name     string
		spec     *vendors.VendorSpec
		accounts []targets.Account
		s        Sources
		fleet    map[string]any
		want     []string
	}{
		{name: "file value fails the format", spec: streamkap(t), accounts: []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}},
			s:    Sources{File: file, Commands: map[string]Command{"role_name": cmd}},
			want: []string{"account 111111111111", `parameter "external_id" from params file`, "p.csv (row 2)", `"bad value!"`, "may contain only"}},
		{name: "tag value fails the format", spec: streamkap(t), accounts: []targets.Account{{ID: "333333333333", Tags: map[string]string{"ext": "x"}}},
			s:    Sources{Tags: map[string]string{"external_id": "ext"}, Commands: map[string]Command{"role_name": cmd}},
			want: []string{"account 333333333333", "from tag ext", "2 to 1224 characters"}},
		{name: "accounts file column fails the format", spec: streamkap(t), accounts: []targets.Account{{ID: "333333333333", Params: map[string]string{"streamkap_principal_arns": "not-an-arn"}}},
			want: []string{"account 333333333333", "accounts file column param:streamkap_principal_arns", "is not an ARN"}},
		{name: "accounts file column names no parameter", spec: streamkap(t), accounts: []targets.Account{{ID: "333333333333", Params: map[string]string{"externalid": "abc"}}},
			want: []string{"account 333333333333", `"externalid"`, "unknown parameter"}},
		{name: "value the whole spec rejects", spec: streamkap(t), accounts: []targets.Account{{ID: "333333333333", Params: map[string]string{"role_name": strings.Repeat("R", 65)}}},
			want: []string{"account 333333333333", "65 characters", "the account's own values: role_name from accounts file column param:role_name"}},
		{name: "missing tag without fallback", spec: streamkap(t), accounts: []targets.Account{{ID: "333333333333"}, {ID: "444444444444", Tags: map[string]string{"ext": "ok-1"}}},
			s:    Sources{Tags: map[string]string{"external_id": "ext"}},
			want: []string{"account 333333333333 has no tag \"ext\"", "--param external_id=VALUE"}},
		{name: "required value missing for one account", spec: requiredSpec(t), accounts: []targets.Account{{ID: "333333333333"}, {ID: "111111111111"}},
			s:    Sources{File: file},
			want: []string{"2 problems", "account 333333333333", "is required", "account 111111111111", "may contain only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(context.Background(), tt.spec, tt.fleet, tt.accounts, tt.s, Options{})
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			require.NoFileExists(t, ran, "no command runs when values known up front are bad")
		})
	}

	// A missing tag is fine when the fleet-wide --param is the fallback.
	got, err := Resolve(context.Background(), streamkap(t), map[string]any{"external_id": "fleet-1"}, []targets.Account{{ID: "333333333333"}},
		Sources{Tags: map[string]string{"external_id": "ext"}}, Options{})
	require.NoError(t, err)
	require.Equal(t, "fleet-1", got["333333333333"].Given(map[string]any{"external_id": "fleet-1"})["external_id"])
}

// TestCommandFailuresFailOneAccount: a command that fails, times out, prints nothing, prints
// several lines or prints a value the spec rejects fails its account only, with an error
// naming the parameter, the command and the account; the others get their values.
func TestCommandFailuresFailOneAccount(t *testing.T) {
	cmd := script(t, `case "$1" in
111111111111) echo "no such tenant for $1" >&2; exit 3;;
222222222222) echo "not valid!";;
333333333333) exec sleep 30;;
444444444444) echo "nothing to say" >&2;;
555555555555) printf 'a\nb\n';;
*) echo "ok-$1";;
esac`)
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}, {ID: "444444444444"}, {ID: "555555555555"}, {ID: "666666666666"}}
	s := Sources{Commands: map[string]Command{"external_id": {Param: "external_id", Argv: []string{cmd}}}, Timeout: 2 * time.Second}
	var logs accountLogs
	got, err := Resolve(context.Background(), streamkap(t), nil, accounts, s, Options{Parallel: 6, Log: logs.writer})
	require.NoError(t, err)
	wants := map[string][]string{
		"111111111111": {`parameter "external_id"`, cmd + " 111111111111", "exit code 3", "stderr: no such tenant for 111111111111"},
		"222222222222": {"account 222222222222", "from command", `"not valid!"`, "may contain only"},
		"333333333333": {"did not finish within 2s", "--param-command-timeout"},
		"444444444444": {"printed nothing", "stderr: nothing to say"},
		"555555555555": {"several lines"},
	}
	for id, want := range wants {
		require.Error(t, got[id].Err, id)
		for _, w := range want {
			require.Contains(t, got[id].Err.Error(), w, id)
		}
	}
	require.NoError(t, got["666666666666"].Err)
	require.Equal(t, "ok-666666666666", got["666666666666"].Values["external_id"].Value)
	require.Contains(t, logs.text("111111111111"), "no such tenant for 111111111111", "stderr goes to the account's log")
	require.NotContains(t, logs.text("666666666666"), "no such tenant")
}

// TestCommandOutputIsBounded: what a command prints is read and echoed only up to a bound,
// whatever it prints: a value on stdout, messages on stderr, text that is not UTF-8.
func TestCommandOutputIsBounded(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		err    []string // in the account's error; none means the value is "dd-123"
		maxErr int      // the error's length at most
		log    []string // in the account's log
		maxLog int      // the log's length at most
	}{
		{"10 MB on stdout", `head -c 10000000 /dev/zero | tr '\0' a`, []string{"printed more than 65536 bytes"}, 300, nil, 1000},
		{"60 KB value", `head -c 60000 /dev/zero | tr '\0' a`, []string{`"aaaa`, "... (60000 bytes)", "2 to 1224 characters"}, 500, nil, 1000},
		{"10 MB on stderr", `head -c 10000000 /dev/zero | tr '\0' a >&2; echo dd-123`, nil, 0, []string{"9934464 more bytes of stderr not shown"}, 70 << 10},
		{"not UTF-8", `printf 'dd-\377\376'`, []string{"not UTF-8"}, 300, nil, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accounts := []targets.Account{{ID: "111111111111"}}
			s := Sources{Commands: map[string]Command{"external_id": {Param: "external_id", Argv: []string{script(t, tt.body)}}}, Timeout: time.Minute}
			var logs accountLogs
			got, err := Resolve(context.Background(), streamkap(t), nil, accounts, s, Options{Parallel: 1, Log: logs.writer})
			require.NoError(t, err)
			res := got["111111111111"]
			if len(tt.err) == 0 {
				require.NoError(t, res.Err)
				require.Equal(t, "dd-123", res.Values["external_id"].Value)
			} else {
				require.Error(t, res.Err)
				for _, w := range tt.err {
					require.Contains(t, res.Err.Error(), w)
				}
				require.LessOrEqual(t, len(res.Err.Error()), tt.maxErr, res.Err.Error())
			}
			for _, w := range tt.log {
				require.Contains(t, logs.text("111111111111"), w)
			}
			require.LessOrEqual(t, len(logs.text("111111111111")), tt.maxLog)
		})
	}
}

// TestCommandEnvironment: no shell, the account as the last argument and in the environment.
func TestCommandEnvironment(t *testing.T) {
	cmd := script(t, `echo "$#:$1:$2:$BYOC_ACCOUNT_ID:$BYOC_ACCOUNT_NAME"`)
	c, err := ParseCommand("external_id=" + cmd + " '$HOME;x'")
	require.NoError(t, err)
	v, err := c.Run(context.Background(), targets.Account{ID: "111111111111", Name: "app"}, &bytes.Buffer{}, time.Second)
	require.NoError(t, err)
	require.Equal(t, "2:$HOME;x:111111111111:111111111111:app", v)
}

func TestCheckSources(t *testing.T) {
	file, err := LoadFile(write(t, "p.yaml", "\"111111111111\": {externalid: abc}\n"))
	require.NoError(t, err)
	err = Sources{
		File:     file,
		Tags:     map[string]string{"extid": "k"},
		Commands: map[string]Command{"ext": {Param: "ext", Argv: []string{"x"}}},
	}.Check(streamkap(t))
	require.Error(t, err)
	for _, w := range []string{"--param-from-tag extid=k", "--param-from-command ext=x", "p.yaml (line 1)", `no parameter "externalid"`, "it takes: role_name"} {
		require.Contains(t, err.Error(), w)
	}
}

func TestShownMasksSecrets(t *testing.T) {
	v := Value{Value: "s3cr3t", Source: "tag k"}
	require.Equal(t, Mask, Shown("external_id", v, map[string]bool{"external_id": true}))
	require.Equal(t, "s3cr3t", Shown("external_id", v, nil))
}

// accountLogs collects each account's log.
type accountLogs struct {
	mu sync.Mutex
	m  map[string]*bytes.Buffer
}

func (b *accountLogs) writer(id string) io.Writer {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*bytes.Buffer{}
	}
	if b.m[id] == nil {
		b.m[id] = &bytes.Buffer{}
	}
	buf := b.m[id]
	return writerFunc(func(p []byte) (int, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return buf.Write(p)
	})
}

func (b *accountLogs) text(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m[id] == nil {
		return ""
	}
	return strings.TrimSpace(b.m[id].String())
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// TestSecretValuesStayOutOfErrors: a secret parameter's bad value is masked in the error.
func TestSecretValuesStayOutOfErrors(t *testing.T) {
	file, err := LoadFile(write(t, "p.yaml", "\"111111111111\": {external_id: \"s3cr3t value\"}\n"))
	require.NoError(t, err)
	for _, secret := range []bool{false, true} {
		_, err = Resolve(context.Background(), streamkap(t), nil, []targets.Account{{ID: "111111111111"}},
			Sources{File: file, Secret: map[string]bool{"external_id": secret}}, Options{})
		require.ErrorContains(t, err, "account 111111111111")
		require.ErrorContains(t, err, "may contain only")
		require.Equal(t, !secret, strings.Contains(err.Error(), "s3cr3t value"), err.Error())
	}
	cmd := Command{Param: "external_id", Argv: []string{script(t, `echo "s3cr3t value"`)}}
	got, err := Resolve(context.Background(), streamkap(t), nil, []targets.Account{{ID: "111111111111"}},
		Sources{Commands: map[string]Command{"external_id": cmd}, Secret: map[string]bool{"external_id": true}}, Options{})
	require.NoError(t, err)
	require.ErrorContains(t, got["111111111111"].Err, "may contain only")
	require.NotContains(t, got["111111111111"].Err.Error(), "s3cr3t")
}
