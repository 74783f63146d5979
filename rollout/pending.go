// Pending creates (recover.go, case 2): adopted by the next update, cleared once state holds them.

package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

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
