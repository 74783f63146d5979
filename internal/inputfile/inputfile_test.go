package inputfile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/inputfile"
)

// aliasBomb is the billion laughs in YAML: each level holds nine aliases of the one before.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x,x,x,x,x,x,x,x,x]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	return b.String()
}

func indentedMaps(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", i), i)
	}
	return b.String()
}

func TestParseYAMLLimits(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		limit inputfile.Limit // "" means it parses
		line  int
	}{
		{"a spec-like file", "apiVersion: byoc-access/v1\nroles:\n  - name: R\n    trust: [{sid: A, actions: [\"sts:AssumeRole\"]}]\n", "", 0},
		{"brackets in quoted scalars and comments", "a: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\" # [[[[\nb: '{{{{' \n", "", 0},
		{"a few aliases", "base: &b {Effect: Allow}\nlist: [*b, *b, *b]\nmerged: {<<: *b, Sid: X}\n", "", 0},
		{"alias bomb, nine levels", aliasBomb(9), inputfile.LimitAliases, 2},
		{"alias bomb, five levels", aliasBomb(5), inputfile.LimitAliases, 0},
		{"flow nesting", "a: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n", inputfile.LimitDepth, 1},
		{"flow nesting of maps on line 2", "x: 1\na: " + strings.Repeat("{b: ", 100) + "1" + strings.Repeat("}", 100), inputfile.LimitDepth, 2},
		{"nesting after a stray quote in a block scalar", "d: |\n  say \"hi\na: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", inputfile.LimitDepth, 3},
		{"items after a stray quote in a block scalar", "d: |\n  it's \"x\na: [" + strings.Repeat("x,", inputfile.MaxItems) + "x]\n", inputfile.LimitItems, 3},
		{"block sequences on one line", strings.Repeat("- ", 100) + "x\n", inputfile.LimitDepth, 1},
		{"indented maps", indentedMaps(100), inputfile.LimitDepth, 65},
		{"a long flat list", "a: [" + strings.Repeat("x,", inputfile.MaxItems) + "x]\n", inputfile.LimitItems, 1},
		{"over the size limit", strings.Repeat("#", inputfile.MaxBytes+1), inputfile.LimitSize, 0},
		{"invalid UTF-8", "a: 1\nb: 2\nvendor: Acme\xff\xfe\n", inputfile.LimitUTF8, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := inputfile.ParseYAML(context.Background(), "in.yaml", []byte(tt.data))
			if tt.limit == "" {
				require.NoError(t, err)
				require.NotNil(t, f)
				return
			}
			var le *inputfile.Error
			require.ErrorAs(t, err, &le)
			require.Equal(t, tt.limit, le.Limit, "%v", err)
			require.Equal(t, "in.yaml", le.File)
			if tt.line > 0 {
				require.Equal(t, tt.line, le.Line, "%v", err)
				require.Contains(t, err.Error(), fmt.Sprintf("in.yaml:%d", tt.line))
			}
			if tt.limit != inputfile.LimitUTF8 {
				require.Contains(t, err.Error(), "limit")
			}
		})
	}
}

func TestParseYAMLStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := inputfile.ParseYAML(ctx, "in.yaml", []byte("a: 1\n"))
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), "in.yaml")
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	tests := []struct {
		name  string
		path  string
		limit inputfile.Limit
	}{
		{"text", write("ok.csv", []byte("id\n111122223333\n")), ""},
		{"too large", write("big.yaml", make([]byte, inputfile.MaxBytes+1)), inputfile.LimitSize},
		{"a device that never ends", "/dev/zero", inputfile.LimitSize},
		{"not UTF-8", write("latin1.csv", []byte("id,name\n111122223333,caf\xe9\n")), inputfile.LimitUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inputfile.ReadFile(tt.path)
			if tt.limit == "" {
				require.NoError(t, err)
				return
			}
			var le *inputfile.Error
			require.True(t, errors.As(err, &le), "%v", err)
			require.Equal(t, tt.limit, le.Limit)
			require.Contains(t, err.Error(), tt.path)
		})
	}
}
