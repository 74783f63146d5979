// A stack's checkpoint read straight from the backend, for what a killed run left in it.

package rollout

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// checkpointKeys are where the backend keeps a stack's checkpoint, uncompressed or gzipped,
// in the backend's layout (project folders, or the legacy flat one).
func (r *pass) checkpointKeys(ctx context.Context, stack string) ([]string, error) {
	layout, err := r.backendLayout(ctx)
	if err != nil {
		return nil, err
	}
	base := layout.StacksPrefix(r.dep.Project) + stack + ".json"
	return []string{base, base + ".gz"}, nil
}

// readCheckpoint reads a stack's latest deployment straight from the backend; nil when the
// backend cannot be read directly or has no checkpoint for the stack. A checkpoint that is
// there but does not parse fails with the step that recovers it.
func (r *pass) readCheckpoint(ctx context.Context, a targets.Account, stack string) (*apitype.DeploymentV3, error) {
	if r.store == nil || (r.known != nil && !r.known[stack]) {
		// A stack the run's listing did not find has no checkpoint to read.
		return nil, nil
	}
	keys, err := r.checkpointKeys(ctx, stack)
	if err != nil {
		// A layout this tool does not know: the run asks the CLI about stacks instead, and
		// has no checkpoint of its own to read.
		return nil, nil
	}
	for _, key := range keys {
		b, err := r.store.Read(ctx, key)
		if err != nil {
			continue
		}
		dep, err := parseCheckpoint(b)
		if err != nil {
			return nil, &AccountError{AccountID: a.ID, Kind: KindEngine, Err: err,
				Reason: fmt.Sprintf("the state of stack %s (%s in %s) is not a readable checkpoint: %v; its previous version is %s.bak: check it, copy it over %s, then run `rollout up` for this account",
					stack, key, r.opts.Backend, err, key, key)}
		}
		return dep, nil
	}
	return nil, nil
}

func parseCheckpoint(b []byte) (*apitype.DeploymentV3, error) {
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var vc apitype.VersionedCheckpoint
	if err := json.Unmarshal(b, &vc); err != nil {
		return nil, err
	}
	if vc.Version < 3 {
		// Written by a CLI from before 2021; it has no pending creates of ours to handle.
		return &apitype.DeploymentV3{}, nil
	}
	var cp apitype.CheckpointV3
	if err := json.Unmarshal(vc.Checkpoint, &cp); err != nil {
		return nil, err
	}
	if cp.Latest == nil {
		return &apitype.DeploymentV3{}, nil
	}
	return cp.Latest, nil
}
