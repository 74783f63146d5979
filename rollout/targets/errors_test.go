package targets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// requireInput checks that err is an *InputError (however wrapped) naming the field and value,
// with the message callers and people read, so that callers can go by type and not by text.
func requireInput(t *testing.T, err error, field, value, msg string) *targets.InputError {
	t.Helper()
	require.Error(t, err)
	var ie *targets.InputError
	require.True(t, errors.As(fmt.Errorf("context: %w", err), &ie), "want a *targets.InputError, got %T: %v", err, err)
	require.Equal(t, field, ie.Field, "the field is named")
	require.Equal(t, value, ie.Value)
	require.Contains(t, err.Error(), msg, "the message is unchanged")
	require.NotEmpty(t, ie.Problem+fmt.Sprint(ie.Err), "it says what is wrong")
	return ie
}

// TestBadFiltersAreInputErrors: every bad filter value, whether Validate, Discover or
// ApplyFilter finds it, is an *InputError naming the flag.
func TestBadFiltersAreInputErrors(t *testing.T) {
	ctx := context.Background()
	fileAccounts := []targets.Account{{ID: "111111111111", OUPath: "Root/Workloads"}}
	discover := func(f targets.Filter) error { _, err := targets.Discover(ctx, newFakeOrg(), f); return err }
	apply := func(f targets.Filter) error { _, err := targets.ApplyFilter(fileAccounts, f); return err }
	for _, tt := range []struct {
		name         string
		call         func(targets.Filter) error
		filter       targets.Filter
		field, value string
		msg          string
	}{
		{"malformed account", targets.Filter.Validate, targets.Filter{Accounts: []string{"12345"}},
			"--account", "12345", `account ID "12345": an AWS account ID is exactly 12 digits`},
		{"malformed excluded account", targets.Filter.Validate, targets.Filter{Accounts: []string{"111111111111"}, ExcludeAccounts: []string{"1234567890123"}},
			"--exclude-account", "1234567890123", `account ID "1234567890123": an AWS account ID is exactly 12 digits`},
		{"empty OU", targets.Filter.Validate, targets.Filter{OUs: []string{" "}},
			"--ou", " ", "an empty OU was given: use an OU ID (ou-...) or a path such as Root/Workloads"},
		{"empty excluded OU", targets.Filter.Validate, targets.Filter{OUs: []string{"Root/Workloads"}, ExcludeOUs: []string{"/"}},
			"--exclude-ou", "/", "an empty OU was given"},
		{"tag without a key", targets.Filter.Validate, targets.Filter{AccountTags: map[string]string{" ": "x"}},
			"--account-tag", " =x", "an account tag filter needs a key: key=value"},
		{"Discover validates", discover, targets.Filter{ExcludeAccounts: []string{"1"}},
			"--exclude-account", "1", "exactly 12 digits"},
		{"unknown OU path", discover, targets.Filter{OUs: []string{"Root/Nope"}},
			"--ou", "Root/Nope", `unknown OU "Root/Nope": give an OU ID (ou-...) or a path from the root; the organization has Root, Root/Empty1`},
		{"unknown excluded OU ID", discover, targets.Filter{ExcludeOUs: []string{"ou-zzzz-zzzzzzzz"}},
			"--exclude-ou", "ou-zzzz-zzzzzzzz", `unknown OU "ou-zzzz-zzzzzzzz"`},
		{"account not in the organization", discover, targets.Filter{Accounts: []string{"999999999999"}},
			"--account", "999999999999", "account 999999999999 is not in the organization: check --account"},
		{"ApplyFilter validates", apply, targets.Filter{Accounts: []string{"x"}},
			"--account", "x", "exactly 12 digits"},
		{"account not in the file", apply, targets.Filter{Accounts: []string{"999999999999"}},
			"--account", "999999999999", "account 999999999999 is not in the accounts file: check --account"},
		{"OU ID with a file", apply, targets.Filter{OUs: []string{"ou-abcd-12345678"}},
			"--ou", "ou-abcd-12345678", `OU "ou-abcd-12345678": an accounts file has no OU IDs: give the OU's path, e.g. Root/Workloads`},
		{"OU no account of the file is in", apply, targets.Filter{OUs: []string{"Root/Nope"}},
			"--ou", "Root/Nope", `unknown OU "Root/Nope": no account in the accounts file is in it (check ou_path/ouPath)`},
		{"excluded OU no account of the file is in", apply, targets.Filter{ExcludeOUs: []string{"Root/Sandbx"}},
			"--exclude-ou", "Root/Sandbx", `unknown OU "Root/Sandbx"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			requireInput(t, tt.call(tt.filter), tt.field, tt.value, tt.msg)
		})
	}

	t.Run("ValidateAccountID alone names no flag", func(t *testing.T) {
		requireInput(t, targets.ValidateAccountID("12"), "account ID", "12", `account ID "12": an AWS account ID is exactly 12 digits`)
	})
	t.Run("a bad shard", func(t *testing.T) {
		_, err := targets.ParseShard("3/2")
		requireInput(t, err, "--shard", "3/2", `--shard "3/2": want i/n with 1 <= i <= n, e.g. 2/4`)
	})
}

// TestReadFailuresAreNotInputErrors: failing to read the organization is no fault of the
// command line, so callers must not take it for one.
func TestReadFailuresAreNotInputErrors(t *testing.T) {
	denied := &smithy.OperationError{ServiceID: "Organizations", OperationName: "DescribeOrganization",
		Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "You don't have permissions to access this resource."}}
	for name, setup := range map[string]func(*fakeOrg){
		"access denied":   func(f *fakeOrg) { f.describe = denied },
		"a listing fails": func(f *fakeOrg) { f.fail["ListAccountsForParent ou-w"] = errors.New("connection reset") },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeOrg()
			setup(f)
			// The filter is fine, but would be an input error if the organization were read.
			_, err := targets.Discover(context.Background(), f, targets.Filter{OUs: []string{"Root/Nope"}})
			require.Error(t, err)
			var ie *targets.InputError
			require.False(t, errors.As(err, &ie), "a read failure is not an input error: %v", err)
		})
	}
}

// TestBadAccountsFilesAreInputErrors: every problem in an accounts file is an *InputError
// naming the file, the place in it and the column or key (the --accounts-file flag for the
// file as a whole), with the message TestLoadAccountsFile checks in full.
func TestBadAccountsFilesAreInputErrors(t *testing.T) {
	for _, tt := range []struct {
		name, file, body    string
		field, value, where string
		msg                 string
	}{
		{"bad id", "accounts.csv", "id,name\n111111111111,a\n12345,b\n", "id", "12345", "row 3", `row 3: id "12345": an AWS account ID is exactly 12 digits`},
		{"empty id", "accounts.csv", "name,id\nnoid,\n", "id", "", "row 2", `row 2: id "": an AWS account ID is exactly 12 digits`},
		{"duplicate", "dup.csv", "id\n111111111111\n111111111111\n", "id", "111111111111", "row 3", "row 3: id 111111111111 is already listed at row 2"},
		{"no id column", "noid.csv", "name,ou_path\na,Root\n", "header", "", "row 1", "row 1: the header has no id column"},
		{"misspelt column", "col.csv", "id,ou\n111111111111,Root\n", "header", "ou", "row 1", `row 1: unknown column "ou"`},
		{"column twice", "col.csv", "id,name,id\n111111111111,a,222222222222\n", "header", "id", "row 1", `row 1: column "id" is there twice`},
		{"bad header", "quote.csv", "\"id\n", "header", "", "header row", "header row: "},
		{"bad tags", "tags.csv", "id,tags\n111111111111,env\n", "tags", "env", "row 2", `row 2: tags "env": want key=value pairs separated by ;`},
		{"unterminated quote", "quote.csv", "id,name\n111111111111,\"open\n", "--accounts-file", "", "", "parse error on line 2"},
		{"header only", "empty.csv", "id\n", "--accounts-file", "", "", "no accounts listed"},
		{"empty csv", "empty.csv", "", "--accounts-file", "", "", "no accounts listed"},
		{"malformed yaml", "bad.yaml", "accounts: [\n", "--accounts-file", "", "line 1", "line 1: sequence end token ']' not found"},
		{"unknown yaml field", "field.yaml", "accounts:\n  - id: \"111111111111\"\n    region: eu\n", "--accounts-file", "", "line 3", `line 3: unknown field "region"`},
		{"yaml bad id", "id.yaml", "accounts:\n  - id: \"111111111111\"\n\n  - name: x\n    id: \"1\"\n", "id", "1", "line 5 (accounts[1])", `line 5 (accounts[1]): id "1": an AWS account ID is exactly 12 digits`},
		{"yaml duplicate", "dup.yaml", "accounts:\n  - id: \"111111111111\"\n  - id: 111111111111\n", "id", "111111111111", "line 3 (accounts[1])", "line 3 (accounts[1]): id 111111111111 is already listed at line 2 (accounts[0])"},
		{"empty yaml", "empty.yaml", "", "--accounts-file", "", "", "no accounts listed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.file, tt.body)
			_, err := targets.LoadAccountsFile(p)
			value := tt.value
			if tt.field == "--accounts-file" {
				value = p // the file as a whole: its name is the value
			}
			ie := requireInput(t, err, tt.field, value, p+": "+tt.msg)
			require.Equal(t, p, ie.File)
			require.Equal(t, tt.where, ie.Where)
		})
	}

	t.Run("the wrong extension", func(t *testing.T) {
		p := writeFile(t, "accounts.txt", "111111111111\n")
		_, err := targets.LoadAccountsFile(p)
		requireInput(t, err, "--accounts-file", p, "accounts file "+p+": use a .csv or .yaml file")
	})
	t.Run("a file that is not there", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.csv")
		_, err := targets.LoadAccountsFile(p)
		requireInput(t, err, "--accounts-file", p, "accounts file: open "+p)
		require.ErrorIs(t, err, os.ErrNotExist, "the cause stays reachable")
	})
}
