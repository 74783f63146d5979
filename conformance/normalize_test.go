package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedDir finds the published vendor material: BYOC_SHARED_DIR, or ../shared beside the
// repository root.
func sharedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("BYOC_SHARED_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory; set BYOC_SHARED_DIR")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("published vendor material not found at %s (set BYOC_SHARED_DIR to the folder with seeds/ and anchors/): conformance not checked", shared)
	}
	return shared
}

func readShared(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
	if os.IsNotExist(err) {
		t.Skipf("%s is absent from the shared folder: conformance not checked", rel)
	}
	require.NoError(t, err)
	return string(b)
}

// normalizeDoc returns a policy document in a canonical form: one-element lists and strings
// are the same, lists are sorted, and statements are ordered by their canonical text. IAM
// gives all of these the same meaning.
func normalizeDoc(t *testing.T, doc any) []string {
	t.Helper()
	m, ok := doc.(map[string]any)
	require.True(t, ok, "document is a map")
	stmts, ok := m["Statement"].([]any)
	require.True(t, ok, "Statement is a list")
	out := make([]string, 0, len(stmts))
	for _, s := range stmts {
		b, err := json.Marshal(normalizeValue(s))
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, el := range x {
			s, _ := el.(string)
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	case map[string]any:
		out := map[string]any{}
		for k, el := range x {
			if k == "Sid" || k == "Effect" {
				out[k] = el
				continue
			}
			out[k] = normalizeValue(el)
		}
		return out
	}
	return v
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "JSON:\n%s", s)
	return v
}
