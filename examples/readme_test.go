package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
)

// TestREADMEShowsTheExamples requires the code blocks of README.md's sections on using the
// component to be the example programs the program tests deploy, so the README never shows a
// program that was not run.
func TestREADMEShowsTheExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	tests := []struct {
		section, lang, file string
	}{
		{"## Using the component from TypeScript, Python and YAML", "ts", "typescript/index.ts"},
		{"## Using the component from TypeScript, Python and YAML", "yaml", "yaml/Pulumi.yaml"},
		{"## Using the component from Go", "go", "go/main.go"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(tt.file)
			require.NoError(t, err)
			blocks := codeBlocks(t, string(readme), tt.section, tt.lang)
			require.Len(t, blocks, 1, "README.md section %q: want one ```%s block", tt.section, tt.lang)
			require.Equal(t, string(want), blocks[0], "README.md section %q must show examples/%s exactly", tt.section, tt.file)
		})
	}
}

// codeBlocks returns the fenced code blocks of one language in a README section (from its
// heading to the next heading of the same or a higher level).
func codeBlocks(t *testing.T, readme, heading, lang string) []string {
	t.Helper()
	start := strings.Index(readme, "\n"+heading+"\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no section %q", heading)
	level := len(heading) - len(strings.TrimLeft(heading, "#"))
	lines := strings.Split(readme[start+1:], "\n")[1:]
	var blocks []string
	var cur *strings.Builder
	for _, line := range lines {
		if n := len(line) - len(strings.TrimLeft(line, "#")); cur == nil && n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
			break
		}
		switch {
		case cur == nil && line == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// TestProjectConfigNamesEveryPreset requires the description of the repository's Pulumi.yaml
// config key vendor, which `pulumi config` shows users, to name every embedded preset.
func TestProjectConfigNamesEveryPreset(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "Pulumi.yaml"))
	require.NoError(t, err)
	var project struct {
		Config map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(text, &project))
	desc := project.Config["vendor"].Description
	for _, name := range vendors.PresetNames() {
		require.Contains(t, desc, name, "Pulumi.yaml: config vendor's description must name the preset %s", name)
	}
}
