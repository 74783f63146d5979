package rollout

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Orphan is a stack whose account is no longer a target: it left the organization, or it is
// suspended or closing.
type Orphan struct {
	// Stack is the orphan's stack name.
	Stack string `json:"stack"`
	// AccountID is the account the stack was for.
	AccountID string `json:"accountId"`
	// Reason says why the account is gone.
	Reason string `json:"reason"`
	// Pruned reports whether prune offboarded it (destroy, then remove the stack).
	Pruned bool `json:"pruned"`
	// Error is why pruning failed, when it did.
	Error string `json:"error,omitempty"`
}

// SyncReport is the outcome of Sync: the deploy report and the orphans.
type SyncReport struct {
	*Report
	// Orphans are the stacks whose account is no longer a target.
	Orphans []Orphan `json:"orphans"`
}

// SyncOptions say what Sync does besides deploying.
type SyncOptions struct {
	// Prune offboards the orphaned stacks (destroy, then remove the stack).
	Prune bool
	// Shard is this runner's shard (--shard i/n), when several share the backend: only the
	// orphans whose account ID falls in it are reported and pruned, the same split as the
	// targets, so that each orphan is offboarded by exactly one runner. The zero value is
	// the whole fleet.
	Shard targets.Shard
}

// Sync keeps an organization onboarded on a schedule: it deploys every target (accounts whose
// fingerprint is unchanged cost no CLI call on file:// and s3://), finds stacks whose account
// left the organization or is suspended, and offboards those only with opts.Prune. want are
// the targets (of this shard); org is every account the organization reports, with its status.
func (r *Runner) Sync(ctx context.Context, want []targets.Account, org []targets.Account, opts SyncOptions) (*SyncReport, error) {
	if err := r.ensureStateDir(); err != nil {
		return nil, err
	}
	stacks, err := r.stacks(ctx)
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, a := range org {
		status[a.ID] = a.Status
	}
	wanted := map[string]bool{}
	for _, a := range want {
		wanted[a.ID] = true
	}
	var orphans []Orphan
	for _, id := range stacks {
		if wanted[id] || !opts.Shard.Has(id) {
			// Another shard's stacks are that shard's to report and prune.
			continue
		}
		st, inOrg := status[id]
		switch {
		case !inOrg:
			orphans = append(orphans, Orphan{Stack: r.StackName(id), AccountID: id, Reason: "the account is no longer in the organization"})
		case st != "" && st != "ACTIVE":
			orphans = append(orphans, Orphan{Stack: r.StackName(id), AccountID: id, Reason: "the account is " + st})
		}
		// Accounts still in the organization but outside the filters are out of scope here.
	}
	rep := &SyncReport{Orphans: orphans}
	if len(want) > 0 {
		if rep.Report, err = r.Up(ctx, want); err != nil {
			return nil, err
		}
	} else {
		rep.Report = &Report{Operation: OpUp, StartedAt: time.Now(), Backend: r.opts.Backend, Results: []Result{}}
	}
	if opts.Prune && len(orphans) > 0 {
		accts := make([]targets.Account, len(orphans))
		for i, o := range orphans {
			accts[i] = targets.Account{ID: o.AccountID, Status: status[o.AccountID]}
		}
		dr, err := r.Offboard(ctx, accts)
		if err != nil {
			return nil, err
		}
		for i := range rep.Orphans {
			for _, res := range dr.Results {
				if res.Account.ID == rep.Orphans[i].AccountID {
					rep.Orphans[i].Pruned = res.Status == StatusSucceeded
					rep.Orphans[i].Error = res.Error
				}
			}
		}
	}
	return rep, nil
}

// Offboard destroys what the program created in each account and then removes the account's
// stack: what sync's prune and the event-driven watch do to an account that is no longer a
// target. The preflight is skipped (no aws): a suspended account cannot pass it, and the
// destroy reports its own failure if the account is unreachable.
func (r *Runner) Offboard(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.runWith(ctx, &pass{Runner: r, op: OpDestroy, removeStacks: true}, accounts)
}

// HasStack reports whether the backend holds a stack of this runner's prefix for the account.
func (r *Runner) HasStack(ctx context.Context, accountID string) (bool, error) {
	ids, err := r.stacks(ctx)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id == accountID {
			return true, nil
		}
	}
	return false, nil
}

// stacks lists the account IDs that have a stack with this runner's prefix in the backend:
// read from the backend directly when it can be, else from the CLI.
func (r *Runner) stacks(ctx context.Context) ([]string, error) {
	if r.store != nil {
		if known, err := r.existingStacks(ctx); err == nil {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return accountStacks(names, r.opts.StackPrefix), nil
		}
	}
	env, release, err := r.env()
	if err != nil {
		return nil, err
	}
	defer release()
	ws, err := r.workspace(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	defer os.RemoveAll(ws.WorkDir())
	list, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list stacks in %s: %w", r.opts.Backend, err)
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Name[strings.LastIndex(s.Name, "/")+1:]
	}
	return accountStacks(names, r.opts.StackPrefix), nil
}

// accountStacks keeps the stack names that are this prefix's account stacks, as account IDs.
func accountStacks(names []string, prefix string) []string {
	var out []string
	for _, name := range names {
		if prefix != "" {
			var ok bool
			if name, ok = strings.CutPrefix(name, prefix+"-"); !ok {
				continue
			}
		}
		if validate.AccountID(name) == nil {
			out = append(out, name)
		}
	}
	return out
}
