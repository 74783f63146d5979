package vendors

import (
	"context"
	"embed"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed presets/*.yaml
var presetFS embed.FS

var (
	presetsOnce sync.Once
	presets     map[string]*VendorSpec
	presetsErr  error
)

func loadPresets() {
	presets = map[string]*VendorSpec{}
	entries, err := presetFS.ReadDir("presets")
	if err != nil {
		presetsErr = err
		return
	}
	for _, e := range entries {
		name := path.Join("presets", e.Name())
		data, err := presetFS.ReadFile(name)
		if err != nil {
			presetsErr = err
			return
		}
		spec, err := Load(name, data)
		if err != nil {
			presetsErr = fmt.Errorf("embedded preset: %w", err)
			return
		}
		presets[spec.Name] = spec
	}
}

// PresetNames lists the embedded vendor presets.
func PresetNames() []string {
	presetsOnce.Do(loadPresets)
	return slices.Sorted(maps.Keys(presets))
}

// Preset returns an embedded vendor preset by name. Each call returns the same spec, which
// callers must treat as read-only.
func Preset(name string) (*VendorSpec, error) {
	presetsOnce.Do(loadPresets)
	if presetsErr != nil {
		return nil, presetsErr
	}
	if s, ok := presets[strings.ToLower(name)]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown vendor %q: the embedded presets are %s; or pass a spec file with --spec", name, strings.Join(PresetNames(), ", "))
}

// Select returns the preset named vendor, or the spec in specFile; exactly one must be set.
func Select(vendor, specFile string) (*VendorSpec, error) {
	return SelectContext(context.Background(), vendor, specFile)
}

// SelectContext is Select that cancelling ctx (SIGINT, SIGTERM) stops while it reads the file.
func SelectContext(ctx context.Context, vendor, specFile string) (*VendorSpec, error) {
	switch {
	case vendor != "" && specFile != "":
		return nil, fmt.Errorf("vendor %q and spec file %q are both set: choose one", vendor, specFile)
	case vendor != "":
		return Preset(vendor)
	case specFile != "":
		return LoadFileContext(ctx, specFile)
	default:
		return nil, fmt.Errorf("no vendor: set a preset (%s) or a spec file", strings.Join(PresetNames(), ", "))
	}
}
