package rollout

// New stacks of a run, made without a `pulumi stack init` each.
//
// A `stack init` costs a CLI process and, with the passphrase provider, the passphrase's key
// derivation (PBKDF2, a million rounds): about a quarter of a new account's CPU. On a DIY
// backend a new stack is nothing but its checkpoint file, holding no resources and the
// stack's secrets provider state. So the run's first new stack is made by the CLI, and every
// other one gets a copy of its checkpoint under its own name: the same secrets provider state
// (the same passphrase salt, or the same KMS-encrypted data key), which the CLI's own `stack
// init` of those stacks would have made with other random bytes only.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

// newStacks makes a run's new stacks. Its zero value is ready; it belongs to one pass.
type newStacks struct {
	mu sync.Mutex
	// made is set once the run's first new stack was made by the CLI and read back.
	made bool
	// template is that stack's checkpoint, nil when new stacks cannot be copied (another
	// layout, a compressed checkpoint, a store the run cannot write): each is then made by the
	// CLI, as before.
	template *apitype.CheckpointV3
	// stack is the template's own stack name, for its reference ("organization/PROJECT/NAME").
	stack string
}

// createStack makes the new stack name: by the CLI for the run's first new stack (and for all,
// where copying is not possible), by a copy of the first one's checkpoint for the others.
func (p *pass) createStack(ctx context.Context, ws auto.Workspace, name string) error {
	ns := &p.newStacks
	ns.mu.Lock()
	if !ns.made {
		// The first new stack, or the first since its CLI init failed: the others wait
		// for it rather than each start their own CLI.
		defer ns.mu.Unlock()
		if err := cliInit(ctx, ws, name); err != nil {
			return err
		}
		ns.made = true
		ns.template, ns.stack = p.readTemplate(ctx, name)
		return nil
	}
	tmpl, from := ns.template, ns.stack
	ns.mu.Unlock()
	if tmpl == nil {
		return cliInit(ctx, ws, name)
	}
	err := p.copyStack(ctx, tmpl, from, name)
	switch {
	case errors.Is(err, backend.ErrExists):
		// An earlier attempt of this run created it before failing (a retry).
	case errors.Is(err, backend.ErrUnsupported):
		return cliInit(ctx, ws, name)
	case err != nil:
		return err
	}
	if p.secrets.KMS() {
		// What `stack init` would have written into the workspace's stack settings, without
		// which the CLI falls back to the passphrase provider.
		if !saveKMSSettings(ctx, ws, name, nil, tmpl.Latest.SecretsProviders) {
			return fmt.Errorf("create stack %s: the run's first new stack has no KMS secrets manager to copy", name)
		}
	}
	return nil
}

func cliInit(ctx context.Context, ws auto.Workspace, name string) error {
	_, err := auto.NewStack(ctx, name, ws)
	if auto.IsCreateStack409Error(err) {
		// An earlier attempt of this run created it before failing (a retry).
		return nil
	}
	return err
}

// readTemplate reads back the checkpoint the CLI just wrote for a new stack; nil when it is
// not one this run knows how to copy.
func (p *pass) readTemplate(ctx context.Context, name string) (*apitype.CheckpointV3, string) {
	if p.store == nil {
		return nil, ""
	}
	layout, err := p.backendLayout(ctx)
	if err != nil || layout != backend.LayoutProject {
		return nil, ""
	}
	// Only the plain JSON file: a CLI told to compress (PULUMI_DIY_BACKEND_GZIP) writes
	// another name, and the run leaves such backends to the CLI.
	b, err := p.store.Read(ctx, layout.StacksPrefix(p.dep.Project)+name+".json")
	if err != nil {
		return nil, ""
	}
	var vc apitype.VersionedCheckpoint
	if json.Unmarshal(b, &vc) != nil || vc.Version != 3 {
		return nil, ""
	}
	var cp apitype.CheckpointV3
	if json.Unmarshal(vc.Checkpoint, &cp) != nil || cp.Latest == nil {
		return nil, ""
	}
	// A new stack holds nothing but its secrets provider; anything else means the file is
	// not what a `stack init` writes, and is not copied.
	if len(cp.Latest.Resources) != 0 || len(cp.Latest.PendingOperations) != 0 || cp.Latest.SecretsProviders == nil ||
		!strings.HasSuffix(string(cp.Stack), "/"+name) {
		return nil, ""
	}
	return &cp, string(cp.Stack)
}

// copyStack writes the new stack name's checkpoint: the template under name's reference. It
// never replaces a checkpoint that exists.
func (p *pass) copyStack(ctx context.Context, tmpl *apitype.CheckpointV3, from, name string) error {
	layout, err := p.backendLayout(ctx)
	if err != nil {
		return err
	}
	cp := *tmpl
	latest := *tmpl.Latest
	latest.Manifest.Time = time.Now()
	cp.Latest = &latest
	cp.Stack = tokens.QName(from[:strings.LastIndex(from, "/")+1] + name)
	inner, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	b, err := json.Marshal(apitype.VersionedCheckpoint{Version: 3, Checkpoint: inner})
	if err != nil {
		return err
	}
	key := layout.StacksPrefix(p.dep.Project) + name + ".json"
	if err := backend.CreateExclusive(ctx, p.store, key, b); err != nil {
		return fmt.Errorf("create stack %s: write %s: %w", name, key, err)
	}
	return nil
}
