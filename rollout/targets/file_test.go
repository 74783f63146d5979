package targets_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadAccountsFile(t *testing.T) {
	want := []targets.Account{
		{ID: "111111111111", Name: "prod", OUPath: "Root/Workloads/Prod", Email: "prod@example.com", Status: "ACTIVE", Tags: map[string]string{"env": "prod", "team": "data"}},
		{ID: "022222222222", Name: "dev", OUPath: "Root/Workloads/Dev", Status: "ACTIVE", Tags: map[string]string{"env": "dev"}},
		{ID: "333333333333", Status: "ACTIVE"},
	}
	for _, tt := range []struct{ name, file, body string }{
		{"csv", "accounts.csv", "id,name,ou_path,email,tags\n" +
			"111111111111,prod,Root/Workloads/Prod,prod@example.com,env=prod;team=data\n" +
			"022222222222,dev,Root/Workloads/Dev,,env=dev;\n" +
			"333333333333\n"},
		{"csv in another column order, with a byte order mark, comments and blank lines", "Accounts.CSV", "\ufeffname, ID ,tags,ou_path,email\n" +
			"# prod first\n" +
			"prod,111111111111,env=prod; team = data,Root/Workloads/Prod,prod@example.com\n\n" +
			"dev,022222222222,env=dev,Root/Workloads/Dev\n" +
			",333333333333,,,\n"},
		{"yaml", "accounts.yaml", "accounts:\n" +
			"  - id: \"111111111111\"\n    name: prod\n    ouPath: Root/Workloads/Prod\n    email: prod@example.com\n    tags: {env: prod, team: data}\n" +
			"  - id: 022222222222 # unquoted, leading zero kept\n    name: dev\n    ouPath: Root/Workloads/Dev\n    tags:\n      env: dev\n" +
			"  - id: 333333333333\n"},
		{"yml", "accounts.yml", "accounts: [{id: '111111111111', name: prod, ouPath: Root/Workloads/Prod, email: prod@example.com, tags: {env: prod, team: data}}, " +
			"{id: '022222222222', name: dev, ouPath: Root/Workloads/Dev, tags: {env: dev}}, {id: '333333333333'}]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := targets.LoadAccountsFile(writeFile(t, tt.file, tt.body))
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}

	bad := []struct {
		name, file, body, want string
	}{
		{"bad id", "accounts.csv", "id,name\n111111111111,a\n12345,b\n", `accounts.csv: row 3: id "12345": an AWS account ID is exactly 12 digits`},
		{"letters in id", "accounts.csv", "id\n12345678901x\n", `accounts.csv: row 2: id "12345678901x": an AWS account ID is exactly 12 digits`},
		{"empty id", "accounts.csv", "name,id\nnoid,\n", `accounts.csv: row 2: id "": an AWS account ID is exactly 12 digits`},
		{"row numbers count comment lines", "accounts.csv", "id\n# a comment\n111111111111\n1\n", `accounts.csv: row 4: id "1"`},
		{"duplicate", "dup.csv", "id\n111111111111\n111111111111\n", "dup.csv: row 3: id 111111111111 is already listed at row 2"},
		{"no id column", "noid.csv", "name,ou_path\na,Root\n", "noid.csv: row 1: the header has no id column (want id,name,ou_path,email,tags)"},
		{"misspelt column", "col.csv", "id,ou\n111111111111,Root\n", `col.csv: row 1: unknown column "ou" (want id,name,ou_path,email,tags)`},
		{"column twice", "col.csv", "id,name,id\n111111111111,a,222222222222\n", `col.csv: row 1: column "id" is there twice`},
		{"bad tags", "tags.csv", "id,tags\n111111111111,env\n", `tags.csv: row 2: tags "env": want key=value pairs separated by ;`},
		{"tag without key", "tags.csv", "id,tags\n111111111111,=x\n", `tags.csv: row 2: tags "=x"`},
		{"unterminated quote", "quote.csv", "id,name\n111111111111,\"open\n", "quote.csv: parse error on line 2"},
		{"header only", "empty.csv", "id\n", "empty.csv: no accounts listed"},
		{"empty csv", "empty.csv", "", "empty.csv: no accounts listed"},
		{"malformed yaml", "bad.yaml", "accounts: [\n", "bad.yaml: line 1: sequence end token ']' not found"},
		{"yaml of the wrong shape", "shape.yaml", "accounts:\n  id: \"111111111111\"\n", "shape.yaml: line 2: "},
		{"unknown yaml field", "field.yaml", "accounts:\n  - id: \"111111111111\"\n    region: eu\n", `field.yaml: line 3: unknown field "region"`},
		{"yaml bad id", "id.yaml", "accounts:\n  - id: \"111111111111\"\n\n  - name: x\n    id: \"1\"\n", `id.yaml: line 5 (accounts[1]): id "1": an AWS account ID is exactly 12 digits`},
		{"yaml id as a number", "id.yaml", "accounts:\n  - id: 1.5e11\n", `id.yaml: line 2 (accounts[0]): id "1.5e11"`},
		{"yaml id as a list", "id.yaml", "accounts:\n  - id: [1]\n", `id.yaml: line 2 (accounts[0]): id "[1]"`},
		{"yaml missing id", "id.yaml", "accounts:\n  - name: x\n", `id.yaml: line 2 (accounts[0]): id "": an AWS account ID is exactly 12 digits`},
		{"yaml duplicate", "dup.yaml", "accounts:\n  - id: \"111111111111\"\n  - id: 111111111111\n", "dup.yaml: line 3 (accounts[1]): id 111111111111 is already listed at line 2 (accounts[0])"},
		{"empty yaml", "empty.yaml", "", "empty.yaml: no accounts listed"},
		{"extension", "accounts.txt", "111111111111\n", "use a .csv or .yaml file"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.file, tt.body)
			_, err := targets.LoadAccountsFile(p)
			require.ErrorContains(t, err, tt.want)
			if tt.file != "accounts.txt" {
				require.Contains(t, err.Error(), p+": ", "the error starts with the file as given")
			}
		})
	}

	_, err := targets.LoadAccountsFile(filepath.Join(t.TempDir(), "missing.csv"))
	require.ErrorContains(t, err, "missing.csv")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestApplyFilter(t *testing.T) {
	accts, err := targets.LoadAccountsFile(writeFile(t, "accounts.csv", "id,name,ou_path,tags\n"+
		"333333333333,sandbox,Root/Sandbox,\n"+
		"111111111111,prod,Root/Workloads/Prod,env=prod;team=data\n"+
		"222222222222,dev,Workloads/Dev,env=dev\n"+
		"444444444444,nowhere,,env=prod\n"+
		"555555555555,prodlike,Root/Workloads/Production,env=prod\n"))
	require.NoError(t, err)

	tests := []struct {
		name    string
		filter  targets.Filter
		want    []string
		skipped map[string]string
		wantErr string
	}{
		{name: "everything, in ID order", want: []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}},
		{name: "OU prefix", filter: targets.Filter{OUs: []string{"Root/Workloads"}}, want: []string{"111111111111", "222222222222", "555555555555"}},
		{name: "OU prefix is a whole name", filter: targets.Filter{OUs: []string{"Root/Workloads/Prod"}}, want: []string{"111111111111"}},
		{name: "paths without Root", filter: targets.Filter{OUs: []string{"Workloads/Dev/"}}, want: []string{"222222222222"}},
		{name: "accounts", filter: targets.Filter{Accounts: []string{"444444444444", "333333333333"}}, want: []string{"333333333333", "444444444444"}},
		{name: "tags", filter: targets.Filter{AccountTags: map[string]string{"env": "prod"}}, want: []string{"111111111111", "444444444444", "555555555555"}},
		{name: "exclude account", filter: targets.Filter{OUs: []string{"Root/Workloads"}, ExcludeAccounts: []string{"222222222222"}},
			want: []string{"111111111111", "555555555555"}, skipped: map[string]string{"222222222222": "excluded by --exclude-account"}},
		{name: "exclude OU", filter: targets.Filter{ExcludeOUs: []string{"Root/Workloads/Prod", "Root/Sandbox"}},
			want:    []string{"222222222222", "444444444444", "555555555555"},
			skipped: map[string]string{"111111111111": "excluded by --exclude-ou", "333333333333": "excluded by --exclude-ou"}},
		{name: "account not in the file", filter: targets.Filter{Accounts: []string{"999999999999"}}, wantErr: "account 999999999999 is not in the accounts file"},
		{name: "OU no account is in", filter: targets.Filter{OUs: []string{"Root/Nope"}}, wantErr: `unknown OU "Root/Nope": no account in the accounts file is in it`},
		{name: "excluded OU no account is in", filter: targets.Filter{ExcludeOUs: []string{"Root/Sandbx"}}, wantErr: `unknown OU "Root/Sandbx"`},
		{name: "OU ID", filter: targets.Filter{OUs: []string{"ou-abcd-12345678"}}, wantErr: "an accounts file has no OU IDs"},
		{name: "bad account ID", filter: targets.Filter{ExcludeAccounts: []string{"1"}}, wantErr: "exactly 12 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := targets.ApplyFilter(accts, tt.filter)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, ids(res.Targets))
			if tt.skipped == nil {
				tt.skipped = map[string]string{}
			}
			require.Equal(t, tt.skipped, skipped(res))
		})
	}
}

func TestValidateAccountID(t *testing.T) {
	for id, ok := range map[string]bool{
		"123456789012": true, "000000000000": true,
		"": false, "12345678901": false, "1234567890123": false, "12345678901a": false, " 123456789012": false, "١٢٣٤٥٦٧٨٩٠١٢": false,
	} {
		err := targets.ValidateAccountID(id)
		if ok {
			require.NoError(t, err, id)
		} else {
			require.ErrorContains(t, err, "an AWS account ID is exactly 12 digits", id)
		}
	}
}

// TestAccountsFileParams: param:NAME columns (CSV) and params: maps (YAML) carry each
// account's own parameter values; an empty cell sets nothing; values keep their text.
func TestAccountsFileParams(t *testing.T) {
	for _, tt := range []struct{ name, file, body string }{
		{"csv", "accounts.csv", "id,name,param:external_id,PARAM:streamkap_principal_arns\n" +
			"111111111111,a,ext-0001,\"[\"\"arn:aws:iam::1:role/x\"\"]\"\n222222222222,b,,\n"},
		{"yaml", "accounts.yaml", "accounts:\n  - id: \"111111111111\"\n    name: a\n    params:\n      external_id: ext-0001\n" +
			"      streamkap_principal_arns: [\"arn:aws:iam::1:role/x\"]\n  - id: \"222222222222\"\n    name: b\n    params: {external_id: \"\"}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := targets.LoadAccountsFile(writeFile(t, tt.file, tt.body))
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.Equal(t, map[string]string{"external_id": "ext-0001", "streamkap_principal_arns": `["arn:aws:iam::1:role/x"]`}, got[0].Params)
			require.Nil(t, got[1].Params, "empty values leave the parameter to other sources")
			b, err := json.Marshal(got[0])
			require.NoError(t, err)
			require.NotContains(t, string(b), "ext-0001", "parameter values never reach reports through the account")
		})
	}
	got, err := targets.LoadAccountsFile(writeFile(t, "digits.yaml", "accounts:\n  - id: \"111111111111\"\n    params: {external_id: 000123}\n"))
	require.NoError(t, err)
	require.Equal(t, "000123", got[0].Params["external_id"], "digits stay as written")

	for _, tt := range []struct{ name, file, body, want string }{
		{"csv column without a name", "p.csv", "id,param:\n111111111111,x\n", `p.csv: row 1: column "param:": want param:NAME`},
		{"csv column name with a blank", "p.csv", "id,param:external id\n111111111111,x\n", `column "param:external id"`},
		{"csv column twice", "p.csv", "id,param:a,param:a\n111111111111,x,y\n", `column "param:a" is there twice`},
		{"yaml bad name", "p.yaml", "accounts:\n  - id: \"111111111111\"\n    params: {\"a b\": x}\n", `p.yaml: line 2 (accounts[0]): params: "a b" is not a parameter name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := targets.LoadAccountsFile(writeFile(t, tt.file, tt.body))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParamColumn(t *testing.T) {
	for _, tt := range []struct {
		header, want string
		ok           bool
	}{
		{"param:external_id", "external_id", true},
		{" PARAM: Role_Name ", "Role_Name", true}, // the prefix in any case, the name as written
		{"Param:", "", true},                      // the caller says the name is missing
		{"external_id", "", false},
		{"params:x", "", false},
		{"param", "", false},
		{"", "", false},
	} {
		got, ok := targets.ParamColumn(tt.header)
		require.Equal(t, tt.ok, ok, tt.header)
		require.Equal(t, tt.want, got, tt.header)
	}
}
