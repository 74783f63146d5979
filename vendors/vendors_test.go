package vendors_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
)

const acct = "123456789012"

func target() vendors.Target {
	return vendors.Target{AccountID: acct, Region: "us-east-1", LookupKMSKeyARN: func(id string) (string, error) {
		return "arn:aws:kms:us-east-1:" + acct + ":key/" + strings.ReplaceAll(id, "/", "-"), nil
	}}
}

func TestPresetsLoad(t *testing.T) {
	require.Equal(t, []string{"databricks", "databricks-unity-catalog", "datadog", "streamkap", "streamnative"}, vendors.PresetNames())
	// Required parameters have no default by definition; everything else keeps its default.
	required := map[string]map[string]any{
		"databricks":               {"external_id": "0b3f6a1e-9c2d-4e5f-8a7b-6c5d4e3f2a1b"},
		"databricks-unity-catalog": {"external_id": "0b3f6a1e-9c2d-4e5f-8a7b-6c5d4e3f2a1b", "bucket_name": "acme-lake"},
		"datadog":                  {"external_id": "2a7c3e9f0b1d4c6e8f5a7b9c1d3e5f70"},
	}
	for _, n := range vendors.PresetNames() {
		s, err := vendors.Preset(n)
		require.NoError(t, err)
		require.Equal(t, n, s.Name)
		require.NotEmpty(t, s.Version, "preset %s says which vendor version it reproduces", n)
		require.NotEmpty(t, s.Source, "preset %s says where the vendor publishes it", n)
		for _, p := range s.Parameters {
			if p.Required {
				require.Contains(t, required[n], p.Name, "preset %s: give the test a value for required parameter %s", n, p.Name)
			}
		}
		_, err = s.Resolve(target(), required[n])
		require.NoError(t, err, "preset %s resolves with its defaults", n)
	}
}

func TestSpecFileErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"malformed.yaml", []string{"testdata/malformed.yaml:", "YAML"}},
		{"schema-error.yaml", []string{"testdata/schema-error.yaml:6:", "roles[0].maxSessionDuration", "43200"}},
		{"long-role-name.yaml", []string{"testdata/long-role-name.yaml:5:", "roles[0].name", "at most 64"}},
		{"unknown-variable.yaml", []string{"testdata/unknown-variable.yaml:5:", "roles[0].name", "unknown variable ${acount_id}"}},
		{"duplicate-policy.yaml", []string{"testdata/duplicate-policy.yaml:7:", "policies[1].name", "declared twice"}},
		{"unknown-policy-ref.yaml", []string{"testdata/unknown-policy-ref.yaml:12:", "roles[0].policies[0].policy", `"AcmeWrite" is neither a policy id`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := vendors.LoadFile(filepath.Join("testdata", tt.file))
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestUnknownVendor(t *testing.T) {
	_, err := vendors.Preset("confluent")
	require.ErrorContains(t, err, `unknown vendor "confluent"`)
	require.ErrorContains(t, err, "streamkap, streamnative")
	_, err = vendors.Select("", "")
	require.ErrorContains(t, err, "no vendor")
	_, err = vendors.Select("streamkap", "x.yaml")
	require.ErrorContains(t, err, "choose one")
}

func loadInline(t *testing.T, src string) *vendors.VendorSpec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	s, err := vendors.LoadFile(path)
	require.NoError(t, err)
	return s
}

// IsSpecName and IsIdentifier are the Go side of two JSON Schema patterns, for code that makes
// specs (cfnimport) and must not write one Load refuses: they accept exactly what the schema
// does.
func TestNameRulesMatchTheSchema(t *testing.T) {
	var schema struct {
		Properties struct {
			Name struct{ Pattern string } `json:"name"`
		} `json:"properties"`
		Defs struct {
			Identifier struct{ Pattern string } `json:"identifier"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(vendors.SchemaJSON, &schema))
	name := regexp.MustCompile(schema.Properties.Name.Pattern)
	ident := regexp.MustCompile(schema.Defs.Identifier.Pattern)
	for _, s := range []string{"acme", "acme-2", "0x", "a", "", "-acme", "Acme", "acme_2", "ac me", "_x", "x_1", "X", "1x", "a-b", "a.b", "é"} {
		require.Equal(t, name.MatchString(s), vendors.IsSpecName(s), "spec name %q", s)
		require.Equal(t, ident.MatchString(s), vendors.IsIdentifier(s), "identifier %q", s)
	}
}

// TestLoadStopsOnCancel: a cancelled context (SIGINT, SIGTERM) stops reading a spec.
func TestLoadStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := vendors.LoadFileContext(ctx, filepath.Join("testdata", "minimal.yaml"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = vendors.LoadFileContext(context.Background(), filepath.Join("testdata", "minimal.yaml"))
	require.NoError(t, err)
}
