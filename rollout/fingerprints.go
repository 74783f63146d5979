package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// record is what the rollout keeps beside an account's state after a successful update: the
// fingerprint of its inputs and the outputs reports need, so an unchanged account costs a read
// instead of a CLI process. It is deleted before every update, so a failed or interrupted
// update never leaves a record that would skip the account next time.
type record struct {
	Fingerprint string            `json:"fingerprint"`
	Updated     time.Time         `json:"updated"`
	RoleArns    map[string]string `json:"roleArns,omitempty"`
	ExternalID  string            `json:"externalId,omitempty"`
	// Applied is what the update applied, for a rollback to return the account to it.
	Applied *Applied `json:"applied,omitempty"`
}

func (r *Runner) recordKey(stack string) string {
	return ".byoc-access/fingerprints/" + r.dep.Project + "/" + stack + ".json"
}

// openStore opens the backend for direct reads; nil for backends that do not allow it.
func (r *Runner) openStore(ctx context.Context) backend.Store {
	if loc, err := backend.Parse(r.opts.Backend); err != nil || (loc.Kind != backend.KindFile && loc.Kind != backend.KindS3) {
		return nil
	}
	cfg, err := r.sdkConfig(ctx)
	if err != nil {
		cfg = aws.Config{}
	}
	st, err := backend.Open(ctx, r.opts.Backend, cfg)
	if err != nil {
		return nil
	}
	return st
}

// sdkConfig is the SDK config of the rollout's own calls to the backend and to KMS: the CLI
// gets its AWS settings through Options.Env, and these calls use the same ones; extra options
// come after (and so over) them.
func (r *Runner) sdkConfig(ctx context.Context, extra ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if id, secret := r.opts.Env["AWS_ACCESS_KEY_ID"], r.opts.Env["AWS_SECRET_ACCESS_KEY"]; id != "" && secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, r.opts.Env["AWS_SESSION_TOKEN"])))
	}
	if region := r.opts.Env["AWS_REGION"]; region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	return awsconfig.LoadDefaultConfig(ctx, append(opts, extra...)...)
}

// existingStacks lists the stacks of the project in the backend, by stack name, in whichever
// layout the backend has. An error (a layout this tool does not know) leaves the run to ask
// the CLI about each stack instead.
func (r *Runner) existingStacks(ctx context.Context) (map[string]bool, error) {
	layout, err := r.backendLayout(ctx)
	if err != nil {
		return nil, err
	}
	names, err := layout.Stacks(ctx, r.store, r.dep.Project)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// backendLayout is the backend's layout, read once it is decided: an empty backend gets its
// layout from the CLI's first write (which PULUMI_DIY_BACKEND_LEGACY_LAYOUT can make legacy),
// so it is read again until then.
func (r *Runner) backendLayout(ctx context.Context) (backend.Layout, error) {
	r.layoutMu.Lock()
	defer r.layoutMu.Unlock()
	if r.layout != backend.LayoutEmpty {
		return r.layout, nil
	}
	l, err := backend.DetectLayout(ctx, r.store)
	if err != nil {
		return l, fmt.Errorf("backend %s: %w", r.opts.Backend, err)
	}
	r.layout = l
	return l, nil
}

// upToDateAll finds the accounts whose last successful update used the same fingerprint and
// whose stack still exists, reading the backend directly.
func (r *Runner) upToDateAll(ctx context.Context, accounts []targets.Account, stacks map[string]bool) map[string]record {
	out := map[string]record{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, a := range accounts {
		name := r.StackName(a.ID)
		if !stacks[name] {
			continue
		}
		g.Go(func() error {
			b, err := r.store.Read(gctx, r.recordKey(name))
			if err != nil {
				return nil
			}
			var rec record
			if json.Unmarshal(b, &rec) != nil {
				return nil
			}
			cfg, err := r.stackConfig(a)
			if err != nil || rec.Fingerprint != fingerprint(r.fingerprintKey(), r.dep.Version, cfg) {
				return nil
			}
			mu.Lock()
			out[a.ID] = rec
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func (r *Runner) forget(ctx context.Context, stack string) {
	if r.store != nil {
		_ = r.store.Delete(ctx, r.recordKey(stack))
	}
}

func (r *Runner) remember(ctx context.Context, a targets.Account, stack, fp string, res *Result) {
	if r.store == nil || fp == "" {
		return
	}
	b, err := json.Marshal(record{Fingerprint: fp, Updated: time.Now().UTC(), RoleArns: res.RoleArns, ExternalID: res.ExternalID, Applied: r.applied(a)})
	if err == nil {
		_ = r.store.Write(ctx, r.recordKey(stack), b)
	}
}

// writeConfig sets the stack's config. Without secrets it writes the workspace's stack
// settings file directly, which saves a CLI process per account; secrets need the CLI to
// encrypt them.
func writeConfig(ctx context.Context, ws auto.Workspace, stack string, cfg auto.ConfigMap) error {
	for _, v := range cfg {
		if v.Secret {
			return ws.SetAllConfigWithOptions(ctx, stack, cfg, &auto.ConfigOptions{Path: true})
		}
	}
	settings, err := ws.StackSettings(ctx, stack)
	if err != nil || settings == nil {
		settings = &workspace.ProjectStack{}
	}
	m, err := configMap(cfg)
	if err != nil {
		return err
	}
	settings.Config = m
	return ws.SaveStackSettings(ctx, stack, settings)
}

// configMap turns flat keys, some with paths ("aws:assumeRole.roleArn"), into the settings
// file's map, with path keys grouped into object values.
func configMap(cfg auto.ConfigMap) (config.Map, error) {
	out := config.Map{}
	objects := map[string]map[string]string{}
	for k, v := range cfg {
		ns, rest, _ := strings.Cut(k, ":")
		if top, field, ok := strings.Cut(rest, "."); ok {
			key := ns + ":" + top
			if objects[key] == nil {
				objects[key] = map[string]string{}
			}
			objects[key][field] = v.Value
			continue
		}
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("config key %s: %w", k, err)
		}
		out[key] = config.NewValue(v.Value)
	}
	for k, fields := range objects {
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("config key %s: %w", k, err)
		}
		b, err := json.Marshal(fields)
		if err != nil {
			return nil, err
		}
		out[key] = config.NewObjectValue(string(b))
	}
	return out, nil
}
