package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/vendors"
)

func TestVendorsListShowsVersionAndSource(t *testing.T) {
	out, errOut, code := runCLI(t, "vendors", "list")
	require.Equal(t, 0, code, "stderr: %s", errOut)

	tests := []struct {
		name, header, source string
	}{
		{"databricks", "databricks  Databricks  1.128.0", "github.com/databricks/terraform-provider-databricks v1.128.0 (commit 864cc835b01b) aws/data_aws_crossaccount_policy.go"},
		{"databricks-unity-catalog", "databricks-unity-catalog  Databricks  1.128.0", "github.com/databricks/terraform-provider-databricks v1.128.0 (commit 864cc835b01b) aws/data_aws_unity_catalog_assume_role_policy.go"},
		{"datadog", "datadog  Datadog  4.3.1", "github.com/DataDog/cloudformation-template aws_quickstart/datadog_integration_role.yaml v4.3.1"},
		{"streamkap", "streamkap  Streamkap  2025-01", `Streamkap docs, "AWS BYOC"`},
		{"streamnative", "streamnative  StreamNative  3.25.0", "github.com/streamnative/terraform-managed-cloud//modules/aws/vendor-access?ref=v3.25.0"},
	}
	require.Len(t, tests, len(vendors.PresetNames()), "every preset is listed here")
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	require.Len(t, blocks, len(tests), "one block per preset:\n%s", out)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(blocks[i], "\n")
			require.Equal(t, tt.header, lines[0], "name, vendor and the version it reproduces")
			require.True(t, strings.HasPrefix(lines[len(lines)-1], "  source: "+tt.source), "the source it was checked against: %q", lines[len(lines)-1])
		})
	}
}

// The CLI path of the Datadog conformance import: the whole template translates, so the
// command exits 0 with nothing on stderr and writes a spec that loads.
func TestVendorsImportDatadogTemplate(t *testing.T) {
	tpl := testenv.SharedFile(t, "anchors/datadog-aws-integration/quickstart-v4.3.1-static/datadog_integration_role.yaml")
	outFile := filepath.Join(t.TempDir(), "datadog-imported.yaml")
	out, errOut, code := runCLI(t, "vendors", "import", "--from-cfn", tpl, "--name", "datadog-imported", "--vendor-name", "Datadog", "-o", outFile)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	require.Empty(t, errOut)
	require.Empty(t, out)
	spec, err := vendors.LoadFile(outFile)
	require.NoError(t, err)
	require.Equal(t, "Datadog", spec.Vendor)
	require.Equal(t, "ExternalId", spec.Handoff.ExternalIDParam)
	data, err := os.ReadFile(outFile)
	require.NoError(t, err)
	require.Contains(t, string(data), "lookup: ${ResourceCollectionPermissions}", "the template's condition became a lookup local")
}
