package backend_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

func TestDetectLayoutAndListStacks(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		layout  backend.Layout
		stacks  []string
		wantErr string
	}{
		{name: "empty backend", layout: backend.LayoutEmpty},
		{
			name: "project layout",
			files: map[string]string{
				".pulumi/meta.yaml":                                  "version: 1\n",
				".pulumi/stacks/byoc-access/111111111111.json":       "{}",
				".pulumi/stacks/byoc-access/222222222222.json.gz":    "x",
				".pulumi/stacks/byoc-access/333333333333.json.bak":   "{}",
				".pulumi/stacks/byoc-access/444444444444.json.attrs": "{}",
				".pulumi/stacks/other-project/555555555555.json":     "{}",
			},
			layout: backend.LayoutProject,
			stacks: []string{"111111111111", "222222222222"},
		},
		{
			name: "legacy layout, as the CLI writes it (no meta.yaml)",
			files: map[string]string{
				".pulumi/stacks/111111111111.json":     "{}",
				".pulumi/stacks/222222222222.json.zst": "x",
				".pulumi/stacks/111111111111.json.bak": "{}",
				".pulumi/history/111111111111/a.json":  "{}",
			},
			layout: backend.LayoutLegacy,
			stacks: []string{"111111111111", "222222222222"},
		},
		{
			name:   "legacy layout with a version 0 meta.yaml (written by a few CLI releases)",
			files:  map[string]string{".pulumi/meta.yaml": "version: 0\n", ".pulumi/stacks/111111111111.json": "{}"},
			layout: backend.LayoutLegacy,
			stacks: []string{"111111111111"},
		},
		{
			name:    "a newer layout version",
			files:   map[string]string{".pulumi/meta.yaml": "version: 2\n"},
			wantErr: "layout version 2 is newer",
		},
		{
			name:    "meta.yaml without a version",
			files:   map[string]string{".pulumi/meta.yaml": "other: 1\n"},
			wantErr: "want `version: N`",
		},
		{
			name:    "project folders without meta.yaml",
			files:   map[string]string{".pulumi/stacks/byoc-access/111111111111.json": "{}"},
			wantErr: "unknown backend layout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for k, v := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(k))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				require.NoError(t, os.WriteFile(p, []byte(v), 0o600))
			}
			st, err := backend.Open(context.Background(), "file://"+dir, aws.Config{})
			require.NoError(t, err)
			layout, err := backend.DetectLayout(context.Background(), st)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.layout, layout)
			stacks, err := layout.Stacks(context.Background(), st, "byoc-access")
			require.NoError(t, err)
			sort.Strings(stacks)
			require.Equal(t, tt.stacks, stacks)
		})
	}
}

func TestIsNotFound(t *testing.T) {
	st, err := backend.Open(context.Background(), "file://"+t.TempDir(), aws.Config{})
	require.NoError(t, err)
	_, err = st.Read(context.Background(), ".pulumi/meta.yaml")
	require.True(t, backend.IsNotFound(err))
	require.False(t, backend.IsNotFound(nil))
	require.False(t, backend.IsNotFound(os.ErrPermission))
}
