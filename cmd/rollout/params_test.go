package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/components/program"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/params"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestPerAccountParamsBadInput: every bad per-account input is a usage error (exit 2) that
// names the account, the source and the fix, found before any command runs, and nothing
// reaches the backend, for up, plan and verify alike.
func TestPerAccountParamsBadInput(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs: []string{"Workloads", "Other"},
		Accounts: []testenv.AccountSpec{
			{Name: "app-1", OU: "Workloads", Tags: map[string]string{"ext": "x"}},
			{Name: "app-2", OU: "Workloads", Tags: map[string]string{"ext": "ok-2"}},
			{Name: "elsewhere", OU: "Other"},
		},
	})
	m.UseInEnv(t)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	t.Setenv("PULUMI_BACKEND_URL", "")
	app1, app2, elsewhere := org.Accounts["app-1"], org.Accounts["app-2"], org.Accounts["elsewhere"]

	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	// The command leaves a mark: bad input known up front must stop the run before it.
	ran := filepath.Join(dir, "command-ran")
	cmd := file("cmd.sh", "#!/bin/sh\ntouch "+ran+"\necho StreamkapRole\n")
	require.NoError(t, os.Chmod(cmd, 0o755))
	withCmd := []string{"--param-from-command", "role_name=" + cmd}
	accountsFile := file("accounts.csv", "id,name,ou_path,param:external_id\n"+app1+",app-1,Root/Workloads,\n"+app2+",app-2,Root/Workloads,bad value\n")
	accountsFileOK := file("accounts-ok.csv", "id,name,ou_path\n"+app1+",app-1,Root/Workloads\n")
	unknownColumn := file("accounts-col.csv", "id,ou_path,param:externalid\n"+app1+",Root/Workloads,abc\n")

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"params file value fails the spec", []string{"--ou", "Root/Workloads", "--params-file", file("bad.yaml", `"`+app2+`": {external_id: "o abc"}`+"\n")},
			[]string{"account " + app2, `parameter "external_id" from params file`, "bad.yaml (line 1)", "may contain only"}},
		{"params file account not in the organization", []string{"--ou", "Root/Workloads", "--params-file", file("unknown.yaml", `"999999999999": {external_id: abc}`+"\n"+`"`+app1+`": {external_id: abc}`+"\n")},
			[]string{"--params-file", "account 999999999999", "not in the organization", "fix the account ID or remove the entry"}},
		{"params file account not in the accounts file", []string{"--accounts-file", accountsFileOK, "--params-file", file("unknown.csv", "id,external_id\n999999999999,abc\n")},
			[]string{"account 999999999999", "not in the accounts file"}},
		{"params file names no parameter", []string{"--ou", "Root/Workloads", "--params-file", file("typo.yaml", `"`+app1+`": {externalid: abc}`+"\n")},
			[]string{"typo.yaml (line 1)", `no parameter "externalid"`, "external_id"}},
		{"params file syntax", []string{"--ou", "Root/Workloads", "--params-file", file("syntax.json", `{"`+app1+`": {"external_id": }`)},
			[]string{"syntax.json"}},
		{"params file missing", []string{"--ou", "Root/Workloads", "--params-file", filepath.Join(dir, "nope.yaml")},
			[]string{"--params-file", "nope.yaml"}},
		{"accounts file column fails the spec", []string{"--accounts-file", accountsFile},
			[]string{"account " + app2, "accounts file column param:external_id", `"bad value"`}},
		{"accounts file column names no parameter", []string{"--accounts-file", unknownColumn},
			[]string{"account " + app1, `"externalid"`, "unknown parameter"}},
		{"tag value fails the spec", []string{"--ou", "Root/Workloads", "--param-from-tag", "external_id=ext"},
			[]string{"account " + app1, "from tag ext", "2 to 1224 characters"}},
		{"tag missing with no fallback", []string{"--account", elsewhere, "--param-from-tag", "external_id=ext"},
			[]string{"account " + elsewhere + ` has no tag "ext"`, "--param external_id=VALUE"}},
		{"tag flag form", []string{"--ou", "Root/Workloads", "--param-from-tag", "external_id"}, []string{`--param-from-tag "external_id"`, "NAME=TAGKEY"}},
		{"tag flag names no parameter", []string{"--ou", "Root/Workloads", "--param-from-tag", "extid=ext"}, []string{"--param-from-tag extid=ext", `no parameter "extid"`}},
		{"command flag form", []string{"--ou", "Root/Workloads", "--param-from-command", "external_id="}, []string{"--param-from-command external_id", "empty"}},
		{"command quoting", []string{"--ou", "Root/Workloads", "--param-from-command", "external_id=get 'id"}, []string{"unclosed single quote"}},
		{"command flag names no parameter", []string{"--ou", "Root/Workloads", "--param-from-command", "extid=" + cmd}, []string{`no parameter "extid"`}},
		{"command timeout", []string{"--ou", "Root/Workloads", "--param-command-timeout", "0s", "--param-from-command", "external_id=" + cmd}, []string{"--param-command-timeout 0s"}},
		{"secret names no parameter", []string{"--ou", "Root/Workloads", "--secret-param", "extid"}, []string{"--secret-param extid", "no such parameter"}},
		{"backend checked before commands run", []string{"--ou", "Root/Workloads", "--params-file", file("ok2.yaml", `"`+app1+`": {external_id: abc}`+"\n"), "--backend", "ftp://x"},
			[]string{`--backend "ftp://x"`}},
		{"fleet value still checked", []string{"--ou", "Root/Workloads", "--params-file", file("ok.yaml", `"`+app1+`": {external_id: abc}`+"\n"), "--param", "streamkap_principal_arns=not-an-arn"},
			[]string{`parameter "streamkap_principal_arns"`, "is not an ARN"}},
	}
	for _, op := range []string{"up", "plan", "verify", "sync"} {
		for _, tt := range tests {
			// Cases that do not apply to the command are not run: verify reads no backend, and
			// sync reads the organization, never an accounts file.
			if (op == "verify" && containsArg(tt.args, "--backend")) || (op == "sync" && containsArg(tt.args, "--accounts-file")) {
				continue
			}
			t.Run(op+"/"+tt.name, func(t *testing.T) {
				// A command that ran fails this case only, not the ones after it.
				t.Cleanup(func() { _ = os.Remove(ran) })
				state := t.TempDir()
				args := []string{op, "--vendor", "streamkap", "--run-dir", t.TempDir()}
				if !containsArg(tt.args, "--backend") {
					// A case's own --backend is the one under test: the flag is single-value.
					args = append(args, "--backend", "file://"+state)
				}
				args = append(args, tt.args...)
				if !containsArg(tt.args, "--param-from-command") {
					args = append(args, withCmd...)
				}
				requireUsageError(t, state, tt.want, args...)
				require.NoFileExists(t, ran, "no command ran")
			})
		}
	}

	// An account of the parameters file that exists but is outside this run's filters (or
	// shard) is no error: one file serves the whole organization.
	out, errOut, code := runCLI(t, "verify", "--vendor", "streamkap", "--ou", "Root/Workloads",
		"--params-file", file("whole-org.yaml", `"`+elsewhere+`": {external_id: abc}`+"\n"))
	require.Equal(t, exitFailed, code, "nothing is deployed, so verify finds drift: %s %s", out, errOut)
	require.Contains(t, out, app1)
	require.NotContains(t, out, elsewhere)

	// A command that fails for one account makes that account's result an error; the other
	// account is still compared (and has drifted: nothing was deployed).
	failing := file("failing.sh", "#!/bin/sh\nif [ \"$1\" = "+app1+" ]; then echo \"no tenant\" >&2; exit 4; fi\necho ok-$1\n")
	require.NoError(t, os.Chmod(failing, 0o755))
	out, errOut, code = runCLI(t, "verify", "--vendor", "streamkap", "--ou", "Root/Workloads", "--output", "json", "--param-from-command", "external_id="+failing)
	require.Equal(t, exitFailed, code, errOut)
	var results []AccountVerification
	require.NoError(t, json.Unmarshal([]byte(out), &results), out)
	require.Len(t, results, 2)
	for _, v := range results {
		if v.AccountID == app1 {
			require.Contains(t, v.Error, "exit code 4")
			require.Contains(t, v.Error, "no tenant")
		} else {
			require.Empty(t, v.Error)
			require.NotEmpty(t, v.Findings)
		}
	}
	require.Contains(t, errOut, app1+": no tenant", "the command's stderr, prefixed with its account")
}

// TestRenderPerAccountParams: render takes the account's own value over the fleet-wide
// --param, lists it with its source on stderr, falls back to the fleet-wide value for an
// account without one, and masks secret parameters.
func TestRenderPerAccountParams(t *testing.T) {
	dir := t.TempDir()
	paramsFile := filepath.Join(dir, "p.csv")
	require.NoError(t, os.WriteFile(paramsFile, []byte("id,external_id\n111122223333,own-ext-1\n"), 0o600))
	accountsFile := filepath.Join(dir, "accounts.yaml")
	require.NoError(t, os.WriteFile(accountsFile, []byte("accounts:\n  - id: \"444455556666\"\n    params: {external_id: \"000777\"}\n"), 0o600))

	tests := []struct {
		name       string
		args       []string
		want       []string
		wantStderr []string
		notWant    []string
	}{
		{"params file beats --param", []string{"--account-id", "111122223333", "--params-file", paramsFile, "--param", "external_id=fleet-ext"},
			[]string{`"sts:ExternalId": "own-ext-1"`}, []string{"111122223333", "external_id", "own-ext-1", "params file " + paramsFile + " (row 2)"}, []string{"fleet-ext"}},
		{"--param where the file has no entry", []string{"--account-id", "777777777777", "--params-file", paramsFile, "--param", "external_id=fleet-ext"},
			[]string{`"sts:ExternalId": "fleet-ext"`}, nil, []string{"own-ext-1"}},
		{"default where nothing is set", []string{"--account-id", "777777777777", "--params-file", paramsFile},
			nil, nil, []string{"sts:ExternalId"}},
		{"accounts file params, digits kept", []string{"--account-id", "444455556666", "--accounts-file", accountsFile},
			[]string{`"sts:ExternalId": "000777"`}, []string{"accounts file column param:external_id"}, nil},
		{"secret masked", []string{"--account-id", "111122223333", "--params-file", paramsFile, "--secret-param", "external_id"},
			[]string{`"sts:ExternalId": "` + params.Mask + `"`}, []string{params.Mask}, []string{"own-ext-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"render", "--vendor", "streamkap"}, tt.args...)...)
			require.Equal(t, exitOK, code, errOut)
			for _, w := range tt.want {
				require.Contains(t, out, w)
			}
			for _, w := range tt.wantStderr {
				require.Contains(t, errOut, w)
			}
			for _, w := range tt.notWant {
				require.NotContains(t, out+errOut, w)
			}
		})
	}

	_, errOut, code := runCLI(t, "render", "--vendor", "streamkap", "--account-id", "111122223333", "--params-file", filepath.Join(dir, "missing.csv"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "missing.csv")
	_, errOut, code = runCLI(t, "render", "--vendor", "streamkap", "--account-id", "111122223333", "--param-from-command", "external_id=false")
	require.Equal(t, exitFailed, code, "a failed command fails the one account")
	require.Contains(t, errOut, `parameter "external_id": command "false 111122223333" failed with exit code 1`)
}

// TestSecretParamsGoThroughSecretConfig: an account with a secret parameter's value gets its
// parameters only as a stack secret; the account's own value changes only its own config,
// so only its fingerprint.
func TestSecretParamsGoThroughSecretConfig(t *testing.T) {
	accounts := []targets.Account{
		{ID: "111111111111", Params: map[string]string{"external_id": "own-1"}},
		{ID: "222222222222"},
	}
	key := program.Project + ":" + program.KeyParams
	for _, secret := range []bool{false, true} {
		vf := &vendorFlags{Vendor: "streamkap", Params: []string{"role_name=Fleet"}, perAccount: &paramSourceFlags{CommandTimeout: time.Minute}}
		if secret {
			vf.perAccount.Secret = []string{"external_id"}
		}
		ff := &fleetFlags{}
		p, err := resolveParams(context.Background(), vf, ff, accounts, false, nil)
		require.NoError(t, err)
		dep, err := p.deployment("us-east-1")
		require.NoError(t, err)

		cfg1, err := dep.StackConfig(accounts[0])
		require.NoError(t, err)
		sec1, err := dep.SecretConfig(accounts[0])
		require.NoError(t, err)
		cfg2, err := dep.StackConfig(accounts[1])
		require.NoError(t, err)
		sec2, err := dep.SecretConfig(accounts[1])
		require.NoError(t, err)
		require.JSONEq(t, `{"role_name":"Fleet"}`, cfg2[key], "no secret value: in clear")
		require.Empty(t, sec2)
		if secret {
			require.NotContains(t, cfg1, key)
			require.JSONEq(t, `{"external_id":"own-1","role_name":"Fleet"}`, sec1[key])
		} else {
			require.JSONEq(t, `{"external_id":"own-1","role_name":"Fleet"}`, cfg1[key])
			require.Empty(t, sec1)
		}
	}

	// A changed value changes that account's config and no other's.
	before := map[string]map[string]string{}
	for i, ext := range []string{"own-1", "own-1b"} {
		accts := []targets.Account{{ID: "111111111111", Params: map[string]string{"external_id": ext}}, {ID: "222222222222"}}
		vf := &vendorFlags{Vendor: "streamkap", perAccount: &paramSourceFlags{CommandTimeout: time.Minute}}
		p, err := resolveParams(context.Background(), vf, &fleetFlags{}, accts, false, nil)
		require.NoError(t, err)
		dep, err := p.deployment("us-east-1")
		require.NoError(t, err)
		for _, a := range accts {
			cfg, err := dep.StackConfig(a)
			require.NoError(t, err)
			if i == 0 {
				before[a.ID] = cfg
				continue
			}
			require.Equal(t, a.ID == "222222222222", before[a.ID][key] == cfg[key], a.ID)
		}
	}
}

// TestSpecSecretParamsGoThroughSecretConfig: a parameter the spec marks secret is kept
// encrypted without --secret-param.
func TestSpecSecretParamsGoThroughSecretConfig(t *testing.T) {
	spec := strings.Replace(acmeSpecForParams, "format: externalId}", "format: externalId, secret: true}", 1)
	require.NotEqual(t, acmeSpecForParams, spec)
	path := filepath.Join(t.TempDir(), "acme.yaml")
	require.NoError(t, os.WriteFile(path, []byte(spec), 0o600))
	a := targets.Account{ID: "111111111111", Params: map[string]string{"external_id": "own-1"}}
	vf := &vendorFlags{SpecFile: path, perAccount: &paramSourceFlags{CommandTimeout: time.Minute}}
	p, err := resolveParams(context.Background(), vf, &fleetFlags{}, []targets.Account{a}, false, nil)
	require.NoError(t, err)
	dep, err := p.deployment("us-east-1")
	require.NoError(t, err)
	sec, err := dep.SecretConfig(a)
	require.NoError(t, err)
	require.JSONEq(t, `{"external_id":"own-1"}`, sec[program.Project+":"+program.KeyParams])
	cfg, err := dep.StackConfig(a)
	require.NoError(t, err)
	require.NotContains(t, cfg, program.Project+":"+program.KeyParams)
}

const acmeSpecForParams = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: external_id, type: string, required: true, format: externalId}
roles:
  - name: AcmeAccess
    trust:
      - actions: ["sts:AssumeRole"]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]
        conditions:
          - {test: StringEquals, variable: "sts:ExternalId", values: "${external_id}", when: [external_id]}
`
