package backend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/goccy/go-yaml"
)

// Layout is how a DIY backend arranges its stacks. The Pulumi CLI decides it when it first
// writes to an empty backend (project-scoped, unless PULUMI_DIY_BACKEND_LEGACY_LAYOUT is set)
// and records it in .pulumi/meta.yaml, which the legacy layout never writes. Readers that
// assume one layout see no stacks at all in the other.
type Layout int

const (
	// LayoutEmpty is a backend with no stacks and no meta.yaml: the layout is not decided yet.
	LayoutEmpty Layout = iota
	// LayoutProject keeps stacks at .pulumi/stacks/PROJECT/STACK.json (meta.yaml version 1).
	LayoutProject
	// LayoutLegacy keeps stacks at .pulumi/stacks/STACK.json, with no project (no meta.yaml,
	// or version 0).
	LayoutLegacy
)

func (l Layout) String() string {
	switch l {
	case LayoutProject:
		return "project"
	case LayoutLegacy:
		return "legacy"
	default:
		return "empty"
	}
}

const (
	metaKey   = ".pulumi/meta.yaml"
	stacksDir = ".pulumi/stacks/"
)

// stackExts are the suffixes of stack checkpoint files, compressed or not. Backups
// (".json.bak") and other files beside them are not stacks.
var stackExts = []string{".json", ".json.gz", ".json.zst"}

// DetectLayout reads the backend's layout the way the CLI does: meta.yaml when it exists,
// otherwise legacy when there are stack files at the top of .pulumi/stacks/.
func DetectLayout(ctx context.Context, st Store) (Layout, error) {
	b, err := st.Read(ctx, metaKey)
	switch {
	case err == nil:
		var meta struct {
			Version *int `yaml:"version"`
		}
		if err := yaml.Unmarshal(b, &meta); err != nil || meta.Version == nil {
			return LayoutEmpty, fmt.Errorf("%s: not a Pulumi backend metadata file (want `version: N`)", metaKey)
		}
		switch *meta.Version {
		case 0:
			return LayoutLegacy, nil
		case 1:
			return LayoutProject, nil
		default:
			return LayoutEmpty, fmt.Errorf("%s: backend layout version %d is newer than this tool knows (0 and 1)", metaKey, *meta.Version)
		}
	case !IsNotFound(err):
		return LayoutEmpty, fmt.Errorf("read %s: %w", metaKey, err)
	}
	keys, err := st.List(ctx, stacksDir)
	if err != nil {
		return LayoutEmpty, fmt.Errorf("list %s: %w", stacksDir, err)
	}
	nested := false
	for _, k := range keys {
		rest := strings.TrimPrefix(k, stacksDir)
		if strings.Contains(rest, "/") {
			nested = true
			continue
		}
		if _, ok := StackName(rest); ok {
			return LayoutLegacy, nil
		}
	}
	if nested {
		// Project directories without the meta.yaml the CLI writes with them: not a layout
		// this tool can read safely.
		return LayoutEmpty, fmt.Errorf("%s has project folders but no %s: unknown backend layout", stacksDir, metaKey)
	}
	return LayoutEmpty, nil
}

// StacksPrefix is where the project's stack files are in this layout.
func (l Layout) StacksPrefix(project string) string {
	if l == LayoutProject {
		return stacksDir + project + "/"
	}
	return stacksDir
}

// Stacks lists the project's stack names in the backend. In the legacy layout stacks have no
// project, so every stack of the backend is listed.
func (l Layout) Stacks(ctx context.Context, st Store, project string) ([]string, error) {
	if l == LayoutEmpty {
		return nil, nil
	}
	prefix := l.StacksPrefix(project)
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []string
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if strings.Contains(rest, "/") {
			// The project layout's other projects never show here; in the legacy layout a
			// nested file is not a stack.
			continue
		}
		if name, ok := StackName(rest); ok {
			out = append(out, name)
		}
	}
	return out, nil
}

// StackName is the stack a checkpoint file name stands for ("x.json.gz" is stack x).
func StackName(file string) (string, bool) {
	file = path.Base(file)
	for _, ext := range stackExts {
		if n, ok := strings.CutSuffix(file, ext); ok && n != "" {
			return n, true
		}
	}
	return "", false
}

// IsNotFound says whether a Read or Delete failed because the key does not exist.
func IsNotFound(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")
}
