package presets

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/vendors"
)

// account is the AWS account the presets are rendered for.
const account = "123456789012"

func readShared(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(testenv.SharedFile(t, rel))
	require.NoError(t, err)
	return string(b)
}

// normalizeDoc returns a policy document's statements in iamstate's canonical form, which
// verify uses too: one-element lists and strings are the same, lists and statements sorted.
func normalizeDoc(t *testing.T, doc any) []string {
	t.Helper()
	m, ok := doc.(map[string]any)
	require.True(t, ok, "document is a map")
	_, ok = m["Statement"].([]any)
	require.True(t, ok, "Statement is a list")
	return iamstate.CanonicalStatements(doc)
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "JSON:\n%s", s)
	return v
}

// renderPreset renders an embedded preset as the component would create it in one account.
func renderPreset(t *testing.T, preset, accountID, partition string, params map[string]any) *iamstate.Account {
	t.Helper()
	spec, err := vendors.Preset(preset)
	require.NoError(t, err)
	got, err := render.Render(spec, render.Options{AccountID: accountID, Partition: partition, Params: params})
	require.NoError(t, err)
	return got
}
