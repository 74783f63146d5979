package rollout

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

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

// Sync keeps an organization onboarded on a schedule: it deploys every target (accounts whose
// fingerprint is unchanged cost two light CLI calls), finds stacks whose account left the
// organization or is suspended, and offboards those only when prune is set. org is every
// account the organization reports, with its status.
func (r *Runner) Sync(ctx context.Context, want []targets.Account, org []targets.Account, prune bool) (*SyncReport, error) {
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
		if wanted[id] {
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
	if prune && len(orphans) > 0 {
		accts := make([]targets.Account, len(orphans))
		for i, o := range orphans {
			accts[i] = targets.Account{ID: o.AccountID, Status: status[o.AccountID]}
		}
		saved := r.opts.RemoveStacks
		r.opts.RemoveStacks = true
		// The preflight is skipped: a suspended account cannot pass it, and the destroy
		// reports its own failure if the account is unreachable.
		savedAWS := r.opts.AWS
		r.opts.AWS = nil
		dr, err := r.run(ctx, OpDestroy, accts)
		r.opts.RemoveStacks, r.opts.AWS = saved, savedAWS
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

// stacks lists the account IDs that have a stack with this runner's prefix in the backend.
func (r *Runner) stacks(ctx context.Context) ([]string, error) {
	ws, err := r.workspace(ctx, targets.Account{})
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	defer os.RemoveAll(ws.WorkDir())
	list, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list stacks in %s: %w", r.opts.Backend, err)
	}
	return accountStacks(list, r.opts.StackPrefix), nil
}

func accountStacks(list []auto.StackSummary, prefix string) []string {
	var out []string
	for _, s := range list {
		name := s.Name[strings.LastIndex(s.Name, "/")+1:]
		if prefix != "" {
			var ok bool
			if name, ok = strings.CutPrefix(name, prefix+"-"); !ok {
				continue
			}
		}
		if targets.ValidateAccountID(name) == nil {
			out = append(out, name)
		}
	}
	return out
}
