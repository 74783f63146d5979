package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"
)

// The container examples under deploy/ cannot be run here (no Docker, no cluster); this checks
// what can be: the worker's arguments are flags watch accepts, the Dockerfile installs the
// Pulumi CLI and AWS plugin versions the rollout is pinned to, and both agree on the binary.
func TestDeployExamplesParse(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	b, err := os.ReadFile(filepath.Join(root, "kubernetes", "watch.yaml"))
	require.NoError(t, err)
	type container struct {
		Args []string `yaml:"args"`
	}
	var args []string
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []container `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if doc.Kind == "Deployment" {
			require.Len(t, doc.Spec.Template.Spec.Containers, 1)
			args = doc.Spec.Template.Spec.Containers[0].Args
		}
	}
	require.NotEmpty(t, args, "the Deployment runs rollout watch")
	require.Equal(t, "watch", args[0])
	c := newWatchCmd()
	require.NoError(t, c.ParseFlags(args[1:]), "the Deployment's flags are watch's")
	require.Empty(t, c.Flags().Args(), "no stray arguments")

	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	text := string(docker)
	require.Contains(t, text, `ENTRYPOINT ["rollout"]`)
	require.Regexp(t, regexp.MustCompile(`ARG PULUMI_VERSION=3\.250\.\d+`), text, "the CLI version the rollout's engine contract is pinned to")
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`github.com/pulumi/pulumi-aws/sdk/v6 v(\S+)`).FindStringSubmatch(string(mod))
	require.NotNil(t, m)
	require.Contains(t, text, "ARG AWS_PLUGIN_VERSION="+m[1], "the plugin version of the program's pulumi-aws SDK")
	require.True(t, strings.Contains(text, "./cmd/rollout"))
}
