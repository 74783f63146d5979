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
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// EventRepaired says the rollout repaired something a killed run left in an account's state
// before working on it; Message says what.
const EventRepaired EventType = "repaired"

// repair reports one repair in the account's log and as an event.
func (r *pass) repair(a targets.Account, log *os.File, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if log != nil {
		fmt.Fprintf(log, "rollout: repaired: %s\n", msg)
	}
	r.emit(Event{Type: EventRepaired, Account: a, Message: msg})
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
