package rollout

// What a killed run leaves behind, and how the next run deals with it.
//
// A CLI process killed outright (SIGKILL, a lost CI runner, the OOM killer) can leave three
// things in a DIY backend besides a stale lock (which `rollout unlock` clears):
//
//  1. A torn metadata sidecar. The file:// backend stores every object's metadata in a
//     sidecar file NAME.attrs (gocloud.dev/blob/fileblob). The object itself is written to a
//     temporary file and renamed, so it is never torn; the sidecar is not: fileblob truncates
//     it with os.Create and then writes it, before the rename. A kill between the two leaves an
//     empty sidecar beside the old, intact object, and from then on every read of the object
//     fails while decoding the sidecar: `failed to load checkpoint: EOF` for a stack's
//     checkpoint, `read ".pulumi/meta.yaml": EOF` for the backend's metadata. fileblob treats a
//     missing sidecar as default metadata, and nothing Pulumi keeps lives in it, so the repair
//     is to remove the torn sidecar; the object is then read as the last complete write left it.
//  2. Pending CREATE operations. The engine records "creating" before it asks the provider to
//     create a resource and replaces it with the resource once the provider answers. Killed in
//     between, the checkpoint keeps the pending create and the cloud may hold the entity (the
//     provider's call went through) that state does not know. Every later update carries the
//     pending create forward and tries to create the entity again, which IAM refuses with
//     EntityAlreadyExists. The rollout brings such entities under management through the
//     adoption path (Deployment.AdoptKey: the program imports them by name), and clears the
//     pending creates once an update has succeeded, when state holds every one of them. A
//     destroy instead removes them from the account first (leftovers.go): offboarding must
//     not grant the access again on its way to revoking it.
//  3. A checkpoint that does not parse. fileblob's rename makes this impossible for a killed
//     CLI, but a disk or a hand edit can do it; the account then fails with the exact step.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// EventRepaired says the rollout repaired something a killed run left in an account's state
// before working on it; Message says what.
const EventRepaired EventType = "repaired"

// sidecarSettle is how old a sidecar that does not decode must be before it counts as torn: a
// live CLI writes one within microseconds of truncating it.
const sidecarSettle = 2 * time.Second

// repair reports one repair in the account's log and as an event.
func (r *pass) repair(a targets.Account, log *os.File, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if log != nil {
		fmt.Fprintf(log, "rollout: repaired: %s\n", msg)
	}
	r.emit(Event{Type: EventRepaired, Account: a, Message: msg})
}

// stackSidecars are the sidecars of the objects the CLI rewrites in place for a stack (its
// checkpoint in each compression, their backups, its tags) and of the backend's metadata, in
// both backend layouts: a torn meta.yaml sidecar is one of the things to repair, so the layout
// cannot be read first. Lock and history objects get a new name on every write, so a torn
// sidecar of theirs sits beside no object and is never read.
func (r *pass) stackSidecars(dir, stack string) []string {
	out := []string{filepath.Join(dir, filepath.FromSlash(".pulumi/meta.yaml.attrs"))}
	for _, layout := range []backend.Layout{backend.LayoutProject, backend.LayoutLegacy} {
		base := filepath.Join(dir, filepath.FromSlash(layout.StacksPrefix(r.dep.Project)), stack)
		out = append(out, base+".pulumi-tags.attrs")
		for _, ext := range []string{".json", ".json.gz", ".json.zst"} {
			out = append(out, base+ext+".attrs", base+ext+".bak.attrs")
		}
	}
	return out
}

// sidecarOK decodes a sidecar the way fileblob's getAttrs does.
func sidecarOK(b []byte) bool {
	var xa struct {
		CacheControl       string            `json:"user.cache_control"`
		ContentDisposition string            `json:"user.content_disposition"`
		ContentEncoding    string            `json:"user.content_encoding"`
		ContentLanguage    string            `json:"user.content_language"`
		ContentType        string            `json:"user.content_type"`
		Metadata           map[string]string `json:"user.metadata"`
		MD5                []byte            `json:"md5"`
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(&xa) == nil
}

// repairSidecars removes the torn sidecars of a stack's objects in a file:// backend and
// returns them, relative to the backend. A sidecar that does not decode but was written less
// than sidecarSettle ago may belong to a CLI writing it right now; it is read again once it
// has settled.
func (r *pass) repairSidecars(stack string) []string {
	dir, ok := backend.FileDir(r.opts.Backend)
	if !ok || dir == "" {
		return nil
	}
	var removed []string
	for _, p := range r.stackSidecars(dir, stack) {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || sidecarOK(b) {
			continue
		}
		if age := time.Since(info.ModTime()); age < sidecarSettle {
			time.Sleep(sidecarSettle - age)
			if b, err = os.ReadFile(p); err != nil || sidecarOK(b) {
				continue
			}
		}
		// Removing it is what a missing sidecar means to fileblob: default metadata. A CLI
		// that is, against all odds, still writing it writes into the removed file, harmlessly.
		if err := os.Remove(p); err == nil || errors.Is(err, os.ErrNotExist) {
			rel, _ := filepath.Rel(dir, p)
			removed = append(removed, filepath.ToSlash(rel))
		}
	}
	return removed
}

// repairBeforeOp is the hook `once` calls before any CLI command touches an account's stack.
// It repairs what a killed run can leave in the backend that would make every command on the
// stack fail, and says so; before a destroy it removes the entities a killed update created
// that state does not record.
func (r *pass) repairBeforeOp(ctx context.Context, op Operation, a targets.Account, stack string, log *os.File) error {
	if removed := r.repairSidecars(stack); len(removed) > 0 {
		r.repair(a, log, "removed %s: torn metadata sidecar (empty or partial) left by a killed CLI, which made every read of the stack fail with `failed to load checkpoint: EOF`; the state it describes is intact",
			strings.Join(removed, ", "))
	}
	if op == OpDestroy {
		return r.checkDestroy(ctx, a, stack, log)
	}
	return nil
}

// checkDestroy removes, before a destroy, the IAM entities a killed update created without
// recording them (leftovers.go): destroy removes only what state holds, and an attachment it
// does not know makes IAM refuse to delete the role it is on. What cannot be removed fails the
// account, named, before state's own deletions begin.
func (r *pass) checkDestroy(ctx context.Context, a targets.Account, stack string, log *os.File) error {
	dep, err := r.readCheckpoint(ctx, a, stack)
	if err != nil || dep == nil {
		return err
	}
	var unrecorded []pendingCreate
	for _, pc := range pendingCreates(dep) {
		if !pc.Held {
			unrecorded = append(unrecorded, pc)
		}
	}
	if len(unrecorded) == 0 {
		return nil
	}
	return r.removeLeftovers(ctx, a, stack, unrecorded, log)
}

// pendingCreate is a resource the engine started to create in a run that never finished.
type pendingCreate struct {
	URN  string
	Type string
	// Entity is "role/NAME" or "policy/NAME" for the IAM entities the program can import;
	// "" for resources whose creation can simply run again (attachments, inline policies).
	Entity string
	// Held says state holds the resource too: a later update created or imported it, and
	// only the pending operation is left to clear.
	Held bool
	// Custom says the resource is a provider's (a cloud entity), not a component.
	Custom bool
	// Inputs are the resource's inputs the engine recorded for the create.
	Inputs map[string]any
}

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

// pendingCreates lists a deployment's pending CREATE operations. The engine carries them
// from update to update until someone clears them, even once state holds the resource.
func pendingCreates(dep *apitype.DeploymentV3) []pendingCreate {
	if dep == nil {
		return nil
	}
	held := map[string]bool{}
	for _, res := range dep.Resources {
		held[string(res.URN)] = true
	}
	var out []pendingCreate
	for _, op := range dep.PendingOperations {
		if op.Type != apitype.OperationTypeCreating {
			continue
		}
		pc := pendingCreate{URN: string(op.Resource.URN), Type: string(op.Resource.Type), Held: held[string(op.Resource.URN)],
			Custom: op.Resource.Custom, Inputs: op.Resource.Inputs}
		name, _ := op.Resource.Inputs["name"].(string)
		switch {
		case name == "":
		case pc.Type == typeRole:
			pc.Entity = "role/" + name
		case pc.Type == typePolicy:
			pc.Entity = "policy/" + name
		}
		out = append(out, pc)
	}
	return out
}

// recoverPending finds the entities a killed update may have created without state knowing,
// before an update, and returns the adoption list (JSON, as for AdoptKey) with those that
// exist in the account added, and whether the stack has pending creates to clear once the
// update succeeds.
func (r *pass) recoverPending(ctx context.Context, a targets.Account, stack, adopt string, log *os.File) (string, bool, error) {
	dep, err := r.readCheckpoint(ctx, a, stack)
	if err != nil || dep == nil {
		return adopt, false, err
	}
	pending := pendingCreates(dep)
	if len(pending) == 0 {
		return adopt, false, nil
	}
	var entities, others, held []string
	for _, pc := range pending {
		if pc.Held {
			held = append(held, pc.URN)
		} else if pc.Entity != "" {
			entities = append(entities, pc.Entity)
		} else {
			others = append(others, pc.URN)
		}
	}
	var found []string
	if len(entities) > 0 {
		if r.dep.AdoptKey == "" || r.dep.Existing == nil || r.aws == nil {
			return "", false, &AccountError{AccountID: a.ID, Kind: KindConflict,
				Reason: fmt.Sprintf("a killed update of stack %s was creating %s, which may exist in the account without state knowing; "+
					"run `rollout up` for this account with AWS credentials for the organization, which checks the account and imports them",
					stack, strings.Join(entities, ", "))}
		}
		role := r.opts.ExecutionRole
		cfg := role.Credentials(*r.aws, sts.NewFromConfig(*r.aws), role.Partition, a.ID)
		existing, err := r.dep.Existing(ctx, a, cfg)
		if err != nil {
			return "", false, fmt.Errorf("a killed update left pending creates of %s; look for them in the account: %w", strings.Join(entities, ", "), err)
		}
		exists := map[string]bool{}
		for _, e := range existing {
			exists[e] = true
		}
		for _, e := range entities {
			if exists[e] {
				found = append(found, e)
			}
		}
	}
	var list []string
	if err := json.Unmarshal([]byte(adopt), &list); err != nil && adopt != "" {
		return "", false, fmt.Errorf("adoption list %q: %w", adopt, err)
	}
	list = mergeNames(list, found)
	b, err := json.Marshal(list)
	if err != nil {
		return "", false, err
	}
	var parts []string
	if len(found) > 0 {
		parts = append(parts, strings.Join(found, ", ")+" exist in the account: importing them")
	}
	if missing := subtract(entities, found); len(missing) > 0 {
		parts = append(parts, strings.Join(missing, ", ")+" do not: creating them")
	}
	if len(others) > 0 {
		parts = append(parts, strings.Join(others, ", ")+": creating them again")
	}
	if len(held) > 0 {
		parts = append(parts, strings.Join(held, ", ")+": already in state")
	}
	r.repair(a, log, "a killed update left %d pending creates in stack %s; %s; state is cleared of them once this update succeeds",
		len(pending), stack, strings.Join(parts, "; "))
	return string(b), true, nil
}

func subtract(a, b []string) []string {
	drop := map[string]bool{}
	for _, n := range b {
		drop[n] = true
	}
	var out []string
	for _, n := range a {
		if !drop[n] {
			out = append(out, n)
		}
	}
	return out
}

func mergeNames(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string{}, a...), b...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// clearPending removes from a stack's state the pending creates of resources it now holds,
// after an update that imported or created every one of them. `pulumi stack import` drops
// every pending operation, so when some are for resources the update did not produce (the
// program no longer declares them) nothing is cleared: they are never forgotten silently, and
// the message says how to settle them.
func (r *pass) clearPending(ctx context.Context, ws auto.Workspace, a targets.Account, stack string, log *os.File) error {
	dir, err := os.MkdirTemp("", "byoc-state-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "state.json")
	// Exported without --show-secrets: secrets stay encrypted on the way through.
	if _, err := runCLI(ctx, ws, nil, "stack", "export", "--non-interactive", "--stack", stack, "--file", file); err != nil {
		return err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var ud apitype.UntypedDeployment
	if err := json.Unmarshal(b, &ud); err != nil {
		return fmt.Errorf("stack export: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ud.Deployment, &fields); err != nil {
		return fmt.Errorf("stack export: %w", err)
	}
	var dep apitype.DeploymentV3
	if err := json.Unmarshal(ud.Deployment, &dep); err != nil {
		return fmt.Errorf("stack export: %w", err)
	}
	held := map[string]bool{}
	for _, res := range dep.Resources {
		held[string(res.URN)] = true
	}
	var keep []apitype.OperationV2
	var cleared, unknown []string
	for _, op := range dep.PendingOperations {
		if op.Type == apitype.OperationTypeCreating && held[string(op.Resource.URN)] {
			cleared = append(cleared, string(op.Resource.URN))
			continue
		}
		if op.Type == apitype.OperationTypeCreating {
			unknown = append(unknown, string(op.Resource.URN))
		}
		keep = append(keep, op)
	}
	if len(unknown) > 0 {
		r.repair(a, log, "kept the pending creates of stack %s: %s are not declared by the program any more; check the account for them, then clear them with `pulumi refresh --clear-pending-creates --stack %s`",
			stack, strings.Join(unknown, ", "), stack)
		return nil
	}
	if len(cleared) == 0 {
		return nil
	}
	if len(keep) == 0 {
		delete(fields, "pending_operations")
	} else if fields["pending_operations"], err = json.Marshal(keep); err != nil {
		return err
	}
	if ud.Deployment, err = json.Marshal(fields); err != nil {
		return err
	}
	if b, err = json.Marshal(ud); err != nil {
		return err
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return err
	}
	if _, err := runCLI(ctx, ws, nil, "stack", "import", "--non-interactive", "--stack", stack, "--file", file); err != nil {
		return err
	}
	r.repair(a, log, "cleared %d pending creates from stack %s: state now holds %s", len(cleared), stack, strings.Join(cleared, ", "))
	return nil
}

// recoverBeforeUpdate is the hook `once` calls before an update: it returns the adoption list
// with what a killed update left behind and whether clearPending must run after success.
func (r *pass) recoverBeforeUpdate(ctx context.Context, op Operation, a targets.Account, stack, adopt string, log *os.File) (string, bool, error) {
	if op != OpUp {
		return adopt, false, nil
	}
	return r.recoverPending(ctx, a, stack, adopt, log)
}

// recoverAfterUpdate is the hook `once` calls after a successful update that had pending
// creates: it clears them. A failure here fails the account: the update's work stays in
// state, and the next run clears them.
func (r *pass) recoverAfterUpdate(ctx context.Context, ws auto.Workspace, a targets.Account, stack string, log *os.File) error {
	if err := r.clearPending(ctx, ws, a, stack, log); err != nil {
		return fmt.Errorf("the update succeeded, but clearing the pending creates a killed run left failed (the next run clears them): %w", err)
	}
	return nil
}
