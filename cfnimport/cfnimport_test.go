package cfnimport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/cfnimport"
	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/render"
	"github.com/byoc-access/byoc-access/vendors"
)

const account = "123456789012"

// importAndLoad imports a template, writes the spec and loads it back the way users will.
func importAndLoad(t *testing.T, data []byte, name string) (*vendors.VendorSpec, []cfnimport.Issue) {
	t.Helper()
	res, err := cfnimport.Import("template.yaml", data, cfnimport.Options{Name: name})
	require.NoError(t, err)
	out, err := cfnimport.Marshal(res.Spec)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	spec, err := vendors.LoadFile(path)
	require.NoError(t, err, "the imported spec loads:\n%s", out)
	return spec, res.Issues
}

func renderSpec(t *testing.T, spec *vendors.VendorSpec, params map[string]any) *iamstate.Account {
	t.Helper()
	a, err := render.Render(spec, render.Options{AccountID: account, Params: params})
	require.NoError(t, err)
	return a
}

func TestStreamkapSeedImportRendersAsThePreset(t *testing.T) {
	text, err := os.ReadFile(testenv.SharedFile(t, "seeds/streamkap-byoc-aws.txt"))
	require.NoError(t, err)
	i := strings.Index(string(text), "AWSTemplateFormatVersion")
	require.Positive(t, i)

	spec, issues := importAndLoad(t, text[i:], "streamkap-imported")
	require.Empty(t, issues, "the seed's template translates fully")

	preset, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	require.Equal(t, renderSpec(t, preset, nil), renderSpec(t, spec, nil))
}

func TestImportTranslatesRefsSubsAndInlinePolicies(t *testing.T) {
	data, err := os.ReadFile("testdata/acme.yaml")
	require.NoError(t, err)
	spec, issues := importAndLoad(t, data, "acme")
	require.Empty(t, issues)
	require.Equal(t, "ExternalId", spec.Handoff.ExternalIDParam)

	_, err = spec.Resolve(vendors.Target{AccountID: account}, nil)
	require.ErrorContains(t, err, `parameter "ExternalId"`, "a parameter without a default is required")

	got := renderSpec(t, spec, map[string]any{"ExternalId": "tenant-9"})
	role := got.Roles["AcmeAccess"]
	require.Equal(t, "/acme/", role.Path)
	require.Equal(t, 7200, role.MaxSessionDuration)
	require.Equal(t, "arn:aws:iam::"+account+":policy/acme/AcmeBoundary", *role.PermissionsBoundary)
	require.Equal(t, []string{"arn:aws:iam::" + account + ":policy/acme/AcmeRead", "arn:aws:iam::aws:policy/ReadOnlyAccess"}, role.AttachedPolicies)
	require.Equal(t, map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"AWS": []any{"arn:aws:iam::111122223333:role/acme-a", "arn:aws:iam::111122223333:role/acme-b"}},
			"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "tenant-9"}},
		}},
	}, role.TrustPolicy)
	inline := role.InlinePolicies["AcmeLogs"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:logs:*:*:log-group:/acme/${literal}", inline["Resource"], "${!x} in !Sub is a literal ${x}")
	boundary := got.Policies["AcmeBoundary"].Document.(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:s3:::acme-"+account+"-*", boundary["Resource"])
	read := got.Policies["AcmeRead"].Document.(map[string]any)["Statement"].([]any)[0].(map[string]any)
	require.Equal(t, "arn:aws:s3:::acme/*", read["Resource"])
}

func TestImportReportsWhatItCannotTranslate(t *testing.T) {
	data, err := os.ReadFile("testdata/unsupported.yaml")
	require.NoError(t, err)
	res, err := cfnimport.Import("unsupported.yaml", data, cfnimport.Options{Name: "acme"})
	require.NoError(t, err)
	var got []string
	for _, i := range res.Issues {
		got = append(got, i.String())
	}
	want := []string{
		"Conditions: template section Conditions is not supported",
		"Outputs: outputs are not carried over",
		"Resources.Bucket.Type: resource type AWS::S3::Bucket is not supported",
		"Resources.Policy.Condition: resource conditions are not supported",
		"Resources.Policy.Properties.PolicyDocument.Statement[0].Resource: intrinsic function Fn::GetAtt is not supported",
		"Resources.Role.Properties.RoleName: intrinsic function Fn::If is not supported",
		"Resources.Role.Properties.RoleName: no RoleName: CloudFormation would generate one",
	}
	require.Len(t, got, len(want), "%s", strings.Join(got, "\n"))
	for i, w := range want {
		require.Contains(t, got[i], w)
	}
}

func TestImportBadInput(t *testing.T) {
	_, err := cfnimport.Import("t.yaml", []byte("Resources: [unclosed"), cfnimport.Options{Name: "acme"})
	require.ErrorContains(t, err, "t.yaml: not a YAML or JSON template")
	_, err = cfnimport.Import("t.yaml", []byte("Description: nothing\n"), cfnimport.Options{Name: "acme"})
	require.ErrorContains(t, err, "no Resources")
	_, err = cfnimport.Import("t.yaml", []byte("Resources: {}\n"), cfnimport.Options{Name: "Acme Corp"})
	require.ErrorContains(t, err, `--name "Acme Corp"`)
}
