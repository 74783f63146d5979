package rollout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// lintFailingSpec is a valid spec whose policy names an action IAM does not have.
const lintFailingSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
policies:
  - id: read
    name: AcmeRead
    path: /
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Resource: "*"
          Action: [s3:GetObjekt]
roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]
`

// perAccount returns AccountParams for fixed per-account values; an account with a nil map
// fails with "no values".
func perAccount(values map[string]map[string]any) func(string) (map[string]any, error) {
	return func(id string) (map[string]any, error) {
		if v := values[id]; v != nil {
			return v, nil
		}
		return nil, errors.New("no values for " + id)
	}
}

var (
	acctA = targets.Account{ID: "111122223333"}
	acctB = targets.Account{ID: "222233334444"}
)

// TestVendorDeploymentRejectsBadInput: every kind of bad input stops VendorDeployment with a
// typed error naming the problem, before any account is touched.
func TestVendorDeploymentRejectsBadInput(t *testing.T) {
	lintFile := filepath.Join(t.TempDir(), "acme.yaml")
	require.NoError(t, os.WriteFile(lintFile, []byte(lintFailingSpec), 0o600))
	// A spec that loads but cannot be resolved: the role trusts everyone.
	starFile := filepath.Join(t.TempDir(), "star.yaml")
	star := strings.Replace(strings.Replace(lintFailingSpec, "s3:GetObjekt", "s3:GetObject", 1), `"arn:aws:iam::111122223333:role/acme"`, `"*"`, 1)
	require.NoError(t, os.WriteFile(starFile, []byte(star), 0o600))
	good := map[string]any{"external_id": "o-abcde"}
	tests := []struct {
		name string
		args rollout.VendorArgs
		// typ is the error's type: "spec", "lint", "none-resolved" or "" for no error.
		typ  string
		want []string
	}{
		{"no vendor or spec file", rollout.VendorArgs{}, "spec", []string{"Vendor or SpecFile is required"}},
		{"both vendor and spec file", rollout.VendorArgs{Vendor: "streamnative", SpecFile: lintFile}, "spec", []string{"Vendor and SpecFile are both set"}},
		{"unknown vendor", rollout.VendorArgs{Vendor: "confluent"}, "spec", []string{`unknown vendor "confluent"`}},
		{"bad parameter value", rollout.VendorArgs{Vendor: "streamnative", Params: map[string]any{"external_id": "x"}}, "spec", []string{`parameter "external_id"`, "2 to 1224 characters"}},
		{"unknown parameter", rollout.VendorArgs{Vendor: "streamnative", Params: map[string]any{"nope": "1"}}, "spec", []string{`parameter "nope"`, "unknown parameter"}},
		{"lint error", rollout.VendorArgs{SpecFile: lintFile}, "lint", []string{"the vendor spec " + lintFile + " fails lint, so nothing was deployed", "BYOC003 policy AcmeRead, statement #0:", `"s3:GetObjekt"`, "rollout lint"}},
		{"spec error at resolution", rollout.VendorArgs{SpecFile: starFile}, "spec", []string{starFile + ":15: vendor acme: roles[0] (AcmeAccess): trust", `AWS principal "*"`}},
		{"every account failed its values", rollout.VendorArgs{Vendor: "streamnative", AccountParams: perAccount(nil), Accounts: []targets.Account{acctA, acctB}},
			"none-resolved", []string{"no account has usable parameter values"}},
		{"first resolved account's values are checked", rollout.VendorArgs{Vendor: "streamnative", Accounts: []targets.Account{acctA, acctB},
			AccountParams: perAccount(map[string]map[string]any{acctB.ID: {"external_id": "x"}})}, "spec", []string{`parameter "external_id"`}},
		{"valid fleet-wide values", rollout.VendorArgs{Vendor: "streamnative", Params: good}, "", nil},
		{"valid per-account values", rollout.VendorArgs{Vendor: "streamnative", Accounts: []targets.Account{acctA, acctB},
			AccountParams: perAccount(map[string]map[string]any{acctB.ID: good})}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rollout.VendorDeployment(tt.args)
			switch tt.typ {
			case "":
				require.NoError(t, err)
				return
			case "spec":
				require.ErrorAs(t, err, new(*rollout.SpecError))
			case "lint":
				require.ErrorAs(t, err, new(*rollout.LintError))
			case "none-resolved":
				require.ErrorIs(t, err, rollout.ErrNoAccountResolved)
			}
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			// Once, not wrapped again by the component and the engine.
			require.NotContains(t, err.Error(), "error occurred")
		})
	}
}

// TestVendorDeploymentConfig: what each account's stack is given: the program's keys, the
// version in the fingerprint, the spec file as an absolute path, its own values, and a secret
// parameter's values only as a stack secret.
func TestVendorDeploymentConfig(t *testing.T) {
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{Vendor: "streamnative", Params: map[string]any{"external_id": "o-abcde"},
		Tags: map[string]string{"team": "data"}, Region: "eu-west-1", Version: "v1.2.3"})
	require.NoError(t, err)
	require.Equal(t, "byoc-access", dep.Project)
	require.NotNil(t, dep.Program)
	require.True(t, dep.NeedsAWSPlugin)
	require.True(t, strings.HasPrefix(dep.Version, "v1.2.3+spec."), dep.Version)
	require.Equal(t, "byoc-access:fingerprint", dep.FingerprintKey)
	require.Equal(t, "byoc-access:adopt", dep.AdoptKey)
	require.NotNil(t, dep.Existing)
	require.Nil(t, dep.SecretConfig, "fleet-wide values without secrets need no secret config")
	kv, err := dep.StackConfig(acctA)
	require.NoError(t, err)
	require.Equal(t, "streamnative", kv["byoc-access:vendor"])
	require.Equal(t, acctA.ID, kv["byoc-access:accountId"])
	require.JSONEq(t, `{"external_id":"o-abcde"}`, kv["byoc-access:params"])
	require.JSONEq(t, `{"team":"data"}`, kv["byoc-access:tags"])

	// The version names the spec: another spec, another version.
	other, err := rollout.VendorDeployment(rollout.VendorArgs{Vendor: "streamkap", Version: "v1.2.3"})
	require.NoError(t, err)
	require.NotEqual(t, dep.Version, other.Version)

	// A relative spec file reaches the program as an absolute path.
	spec, err := os.ReadFile(filepath.Join("..", "vendors", "presets", "streamkap.yaml"))
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("streamkap.yaml", spec, 0o600))
	fromFile, err := rollout.VendorDeployment(rollout.VendorArgs{SpecFile: "streamkap.yaml"})
	require.NoError(t, err)
	kv, err = fromFile.StackConfig(acctA)
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(wd, "streamkap.yaml"), kv["byoc-access:specFile"])
	require.NotContains(t, kv, "byoc-access:vendor")

	// Per-account values, external_id secret: A deploys a value (its params are a stack
	// secret), B an empty one (in clear), C failed its values (its config fails, and adoption
	// leaves it to that failure).
	acctC := targets.Account{ID: "333344445555"}
	secret, err := rollout.VendorDeployment(rollout.VendorArgs{Vendor: "streamnative", Accounts: []targets.Account{acctA, acctB, acctC},
		AccountParams: perAccount(map[string]map[string]any{acctA.ID: {"external_id": "o-secret"}, acctB.ID: {"external_id": ""}}),
		Secret:        map[string]bool{"external_id": true}})
	require.NoError(t, err)
	require.NotNil(t, secret.SecretConfig)
	kv, err = secret.StackConfig(acctA)
	require.NoError(t, err)
	require.NotContains(t, kv, "byoc-access:params")
	for _, v := range kv {
		require.NotContains(t, v, "o-secret")
	}
	sec, err := secret.SecretConfig(acctA)
	require.NoError(t, err)
	require.JSONEq(t, `{"external_id":"o-secret"}`, sec["byoc-access:params"])
	kv, err = secret.StackConfig(acctB)
	require.NoError(t, err)
	require.JSONEq(t, `{"external_id":""}`, kv["byoc-access:params"])
	sec, err = secret.SecretConfig(acctB)
	require.NoError(t, err)
	require.Empty(t, sec)
	_, err = secret.StackConfig(acctC)
	require.ErrorContains(t, err, "no values for "+acctC.ID)
	existing, err := secret.Existing(context.Background(), acctC, aws.Config{})
	require.NoError(t, err)
	require.Empty(t, existing)
}

// TestSpecSecretParamsAreEncryptedWithFleetValues: a parameter the spec marks secret stays out
// of the clear stack config when every account deploys the same values (no per-account
// source, no --secret-param): only the secret config holds it.
func TestSpecSecretParamsAreEncryptedWithFleetValues(t *testing.T) {
	spec := strings.Replace(lintFailingSpec, "s3:GetObjekt", "s3:GetObject", 1)
	spec = strings.Replace(spec, "name: acme\n", "name: acme\nparameters:\n  - {name: external_id, type: string, required: true, secret: true}\n", 1)
	spec = strings.Replace(spec, `principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]`,
		`principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]`+"\n        conditions:\n          - {test: StringEquals, variable: \"sts:ExternalId\", values: \"${external_id}\"}", 1)
	path := filepath.Join(t.TempDir(), "acme.yaml")
	require.NoError(t, os.WriteFile(path, []byte(spec), 0o600))
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{SpecFile: path, Params: map[string]any{"external_id": "fleet-secret"}})
	require.NoError(t, err)
	require.NotNil(t, dep.SecretConfig)
	kv, err := dep.StackConfig(acctA)
	require.NoError(t, err)
	for k, v := range kv {
		require.NotContains(t, v, "fleet-secret", k)
	}
	sec, err := dep.SecretConfig(acctA)
	require.NoError(t, err)
	require.JSONEq(t, `{"external_id":"fleet-secret"}`, sec["byoc-access:params"])
}

// TestVendorDeploymentChecksEachAccountBeforeAdopting: an account's own values that fail the
// checks fail its adoption look-up before IAM is read (the config here reaches no AWS).
func TestVendorDeploymentChecksEachAccountBeforeAdopting(t *testing.T) {
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{Vendor: "streamnative", Accounts: []targets.Account{acctA, acctB},
		AccountParams: perAccount(map[string]map[string]any{acctA.ID: {"external_id": "o-abcde"}, acctB.ID: {"external_id": "x"}})})
	require.NoError(t, err)
	_, err = dep.Existing(context.Background(), acctB, aws.Config{})
	require.ErrorAs(t, err, new(*rollout.SpecError))
	require.ErrorContains(t, err, `parameter "external_id"`)
}

func TestStateDeployment(t *testing.T) {
	dep := rollout.StateDeployment()
	require.Equal(t, "byoc-access", dep.Project)
	require.NotNil(t, dep.Program)
	require.True(t, dep.NeedsAWSPlugin)
	require.Nil(t, dep.StackConfig)
	require.Nil(t, dep.Existing)
}
