package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestPrepareModule: the module's debug-only local_file blocks are dropped, everything else is
// copied as is, and a local_file block that is on by default is refused.
func TestPrepareModule(t *testing.T) {
	const kept = `resource "aws_iam_policy" "p" {
  name   = "P"
  policy = templatefile("${path.module}/files/p.json.tpl", { account_id = "1" })
}
`
	const gated = `resource "local_file" "p" {
  count = var.write_policy_files ? 1 : 0
  content = templatefile("${path.module}/files/p.json.tpl",
    {
      account_id = "1"
  })
  filename = "p.json"
}
`
	tests := []struct {
		name    string
		mainTF  string
		dropped []string
		wantErr string
	}{
		{name: "nothing to drop", mainTF: kept},
		{name: "debug files dropped", mainTF: kept + gated + kept, dropped: []string{"local_file.p"}},
		{name: "always written", mainTF: kept + "resource \"local_file\" \"q\" {\n  content = \"x\"\n  filename = \"q\"\n}\n",
			wantErr: `"q" is not off by default`},
		{name: "still referenced", mainTF: kept + gated + "output \"f\" {\n  value = local_file.p[0].filename\n}\n",
			wantErr: "still mentioned"},
		{name: "unterminated", mainTF: "resource \"local_file\" \"r\" {\n  count = var.write_policy_files ? 1 : 0\n", wantErr: "does not end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := t.TempDir(), filepath.Join(t.TempDir(), "module")
			require.NoError(t, os.MkdirAll(filepath.Join(src, "files"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, "main.tf"), []byte(tt.mainTF), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(src, "versions.tf"), []byte("terraform {}\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(src, "files", "p.json.tpl"), []byte("{}"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(src, "README.md"), []byte("#"), 0o644))
			dropped, err := testenv.PrepareModule(src, dst)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.dropped, dropped)
			got, err := os.ReadFile(filepath.Join(dst, "main.tf"))
			require.NoError(t, err)
			want := tt.mainTF
			if len(tt.dropped) > 0 {
				want = kept + kept
			}
			require.Equal(t, want, string(got))
			require.FileExists(t, filepath.Join(dst, "versions.tf"))
			require.FileExists(t, filepath.Join(dst, "files", "p.json.tpl"))
			require.NoFileExists(t, filepath.Join(dst, "README.md"))
		})
	}
}
