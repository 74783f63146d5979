package main

// plan's IAM-level plan (--out DIR) and up's approved-plan apply (--plan DIR): before each
// account is updated, what it would do now is compared with what the plan says it does (the
// fingerprint of spec, parameters, program and provider config; the IAM state its stack
// records; its live IAM; the engine's steps; the IAM it grants), and after the update its live
// IAM is compared with the plan's.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/diff"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/plan"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// planFlags are plan's --out and up's --plan and --plan-max-age.
type planFlags struct {
	Out    string
	Plan   string
	MaxAge time.Duration

	// planned are the --plan's accounts, read by check.
	planned map[string]*plan.Account
	// secrets are the secret parameter values print masks.
	secrets []string
	// written is the plan this run wrote, in dir (none with secret parameters), for print.
	written *plan.Plan
	dir     string
}

func (f *planFlags) register(c *cobra.Command, op rollout.Operation) {
	switch op {
	case rollout.OpPreview:
		c.Flags().StringVar(&f.Out, "out", "", "write the plan to DIR for review and approval (plan.json, plan.md, accounts/ID.json); apply it with up --plan DIR (default: RUN-DIR/plan)")
	case rollout.OpUp:
		c.Flags().StringVar(&f.Plan, "plan", "", "apply the approved plan in DIR: only its accounts, each only if it would do exactly what the plan says")
		c.Flags().DurationVar(&f.MaxAge, "plan-max-age", 24*time.Hour, "refuse a --plan written longer ago than this (0: no limit)")
	}
}

// check validates the plan flags against the rest, before anything runs.
func (f *planFlags) check(vf *vendorFlags, ff *fleetFlags) error {
	if f.Plan == "" {
		if f.Out != "" && vf.perAccount != nil && len(vf.perAccount.Secret) > 0 {
			return usagef("--out with --secret-param: a plan file holds the IAM each account is granted, secret values included; plan without --out")
		}
		return nil
	}
	if ff.Refresh || ff.Force {
		return usagef("--plan with --refresh or --force: an approved plan is applied exactly as planned; plan again with what you want instead")
	}
	if f.MaxAge < 0 {
		return usagef("--plan-max-age %s: want 0 (no limit) or more", f.MaxAge)
	}
	// A plan that is missing, of another format or edited is bad input, found before any
	// account is looked at; one that is only too old is refused (exit 1).
	approved, planned, err := plan.Read(f.Plan)
	var invalid *plan.InvalidError
	if errors.As(err, &invalid) {
		return usagef("--plan %s: %s", f.Plan, invalid.Reason)
	}
	if err != nil {
		return asUsage(err)
	}
	if err := approved.CheckAge(f.MaxAge, time.Now()); err != nil {
		return failedError{msg: err.Error()}
	}
	f.planned = planned
	return nil
}

// run runs the operation over the accounts: an approved plan's apply, or a plan that also
// writes its IAM-level plan, or the operation as it is.
func (f *planFlags) run(ctx context.Context, c *cobra.Command, r *rollout.Runner, op rollout.Operation, accounts []targets.Account,
	vf *vendorFlags, ff *fleetFlags, runDir string, p *fleetParams) (*rollout.Report, error) {
	switch {
	case op == rollout.OpUp && f.Plan != "":
		return f.apply(ctx, c, r, accounts, vf, ff, runDir, p)
	case op == rollout.OpPreview:
		rep, err := r.Preview(ctx, accounts)
		if err != nil {
			return nil, err
		}
		return rep, f.write(ctx, c, rep, vf, ff, runDir, p)
	}
	return runOp(ctx, r, op, accounts)
}

// params resolves the accounts' values for the plan's renders, unless the run did already.
func (f *planFlags) params(ctx context.Context, vf *vendorFlags, ff *fleetFlags, accounts []targets.Account, runDir string, p *fleetParams) (*fleetParams, error) {
	if p != nil {
		return p, nil
	}
	return resolveParams(ctx, vf, ff, accounts, true, accountLog(runDir))
}

// write builds every previewed account's plan and writes it to --out (or RUN-DIR/plan); the
// text report gets the fleet's IAM-level diff after the table.
func (f *planFlags) write(ctx context.Context, c *cobra.Command, rep *rollout.Report, vf *vendorFlags, ff *fleetFlags, runDir string, p *fleetParams) error {
	var accounts []targets.Account
	for _, res := range rep.Results {
		accounts = append(accounts, res.Account)
	}
	p, err := f.params(ctx, vf, ff, accounts, runDir, p)
	if err != nil {
		return err
	}
	// An account that cannot be planned fails the run only when the plan is to be approved;
	// otherwise the preview stands and the IAM-level plan says which accounts it lacks.
	planned, err := accountPlans(ctx, ff, p, rep, f.Out != "", c.ErrOrStderr())
	if err != nil {
		return err
	}
	pl := &plan.Plan{Created: time.Now().UTC(), Source: planSource(vf)}
	if len(p.secret) > 0 {
		// Plan files hold what each account is granted, a secret parameter's value included
		// (trust conditions quote it): none is written, and the printed diff is masked.
		if f.Out != "" {
			return usagef("--out: the spec has secret parameters (%s), whose values a plan file would hold; plan without --out", strings.Join(slices.Sorted(maps.Keys(p.secret)), ", "))
		}
		var diffs []*diff.Account
		for _, a := range planned {
			diffs = append(diffs, a.Diff)
			if given, err := p.given(a.AccountID); err == nil {
				f.secrets = append(f.secrets, p.secretValues(given)...)
			}
		}
		pl.Fleet = diff.Summarize(diffs)
		f.written = pl
		return nil
	}
	dir := f.Out
	if dir == "" {
		dir = filepath.Join(runDir, "plan")
	}
	if err := plan.Write(dir, pl, planned); err != nil {
		return err
	}
	f.written, f.dir = pl, dir
	return nil
}

// print follows the text report of a plan with its IAM-level diff and where the plan is.
func (f *planFlags) print(c *cobra.Command, ff *fleetFlags) {
	if f.written == nil || ff.Output == "json" {
		return
	}
	var b bytes.Buffer
	b.WriteString("\n")
	_ = diff.WriteText(&b, f.written.Fleet)
	if f.dir != "" {
		fmt.Fprintf(&b, "\nplan written to %s (digest %s); after review, apply it with: rollout up --plan %s\n", f.dir, f.written.Digest[:16], f.dir)
	}
	_, _ = c.OutOrStdout().Write(maskSecrets(b.Bytes(), f.secrets))
}

func planSource(vf *vendorFlags) string {
	if vf.SpecFile != "" {
		return "--spec " + vf.SpecFile + " (" + version + ")"
	}
	return "--vendor " + vf.Vendor + " (" + version + ")"
}

// accountPlans builds the plan of every account whose preview succeeded. An account that
// cannot be planned (its IAM unreadable) fails in the report with the reason when strict,
// else is named on stderr.
func accountPlans(ctx context.Context, ff *fleetFlags, p *fleetParams, rep *rollout.Report, strict bool, stderr io.Writer) ([]*plan.Account, error) {
	base, err := ff.aws(ctx)
	if err != nil {
		return nil, err
	}
	reader := liveReader{base: base, role: ff.role()}
	out := make([]*plan.Account, len(rep.Results))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ff.parallel(false))
	for i := range rep.Results {
		res := &rep.Results[i]
		if res.Status != rollout.StatusSucceeded {
			continue
		}
		g.Go(func() error {
			a, err := accountPlan(gctx, reader, p, ff.targets.Region, res)
			if err != nil && strict {
				res.Status, res.Kind, res.Error = rollout.StatusFailed, rollout.KindConfig, "plan: "+err.Error()
				return nil
			}
			if err != nil {
				mu.Lock()
				fmt.Fprintf(stderr, "account %s: no IAM-level plan: %v\n", res.Account.ID, err)
				mu.Unlock()
				return nil
			}
			out[i] = a
			return nil
		})
	}
	_ = g.Wait()
	rep.Merge()
	var planned []*plan.Account
	for _, a := range out {
		if a != nil {
			planned = append(planned, a)
		}
	}
	return planned, nil
}

// accountPlan is one account's plan: the state its stack records (the preview's old inputs),
// the spec rendered for its values with its real KMS keys (as verify renders it), and the live
// IAM of every role and policy on either side.
func accountPlan(ctx context.Context, reader liveReader, p *fleetParams, region string, res *rollout.Result) (*plan.Account, error) {
	id := res.Account.ID
	vf, err := p.flagsFor(id)
	if err != nil {
		return nil, err
	}
	want, err := renderFor(vf, id, region, reader.kmsKeyARN(ctx, id))
	if err != nil {
		return nil, err
	}
	have, err := plan.Recorded(id, res.Steps)
	if err != nil {
		return nil, err
	}
	live, err := liveIAM(ctx, reader, id, have, want)
	if err != nil {
		return nil, err
	}
	return plan.NewAccount(plan.Inputs{AccountID: id, Name: res.Account.Name, Stack: res.Stack, Fingerprint: res.Fingerprint,
		Steps: res.Steps, Want: want, Live: live})
}

// liveIAM reads the account's roles and policies that either state names.
func liveIAM(ctx context.Context, reader liveReader, id string, states ...*iamstate.Account) (*iamstate.Account, error) {
	roles, policies := map[string]bool{}, map[string]bool{}
	for _, s := range states {
		for n := range s.Roles {
			roles[n] = true
		}
		for n := range s.Policies {
			policies[n] = true
		}
	}
	names := snapshot.Names{Roles: slices.Sorted(maps.Keys(roles)), Policies: slices.Sorted(maps.Keys(policies))}
	live, err := snapshot.Take(ctx, reader.iam(id), id, names)
	if err != nil {
		return nil, fmt.Errorf("read live IAM: %w", err)
	}
	return live, nil
}

// apply applies an approved plan: the plan is read and its age checked before anything; each
// target account the plan lists is previewed and planned again, and updated only if that
// matches the plan; every other account is refused by name. After the update each account's
// live IAM must be the plan's.
func (f *planFlags) apply(ctx context.Context, c *cobra.Command, r *rollout.Runner, accounts []targets.Account,
	vf *vendorFlags, ff *fleetFlags, runDir string, p *fleetParams) (*rollout.Report, error) {
	planned := f.planned
	var err error
	var inPlan []targets.Account
	var refused []rollout.Result
	for _, a := range accounts {
		if planned[a.ID] == nil {
			refused = append(refused, refusal(r, a, plan.NotInPlan(a.ID)))
			continue
		}
		inPlan = append(inPlan, a)
	}
	if missing := len(planned) - len(inPlan); missing > 0 {
		fmt.Fprintf(c.ErrOrStderr(), "%d accounts of the plan are not among this run's targets and are left alone\n", missing)
	}
	var ready []targets.Account
	if len(inPlan) > 0 {
		p, err = f.params(ctx, vf, ff, inPlan, runDir, p)
		if err != nil {
			return nil, err
		}
		check, err := r.Preview(ctx, inPlan)
		if err != nil {
			return nil, err
		}
		now, err := accountPlans(ctx, ff, p, check, true, c.ErrOrStderr())
		if err != nil {
			return nil, err
		}
		byID := map[string]*plan.Account{}
		for _, a := range now {
			byID[a.AccountID] = a
		}
		for _, res := range check.Results {
			a := res.Account
			switch {
			case byID[a.ID] == nil:
				refused = append(refused, refusal(r, a, &plan.RefusedError{AccountID: a.ID, Reasons: []string{"it could not be planned again: " + res.Error}}))
			default:
				if err := plan.Check(planned[a.ID], byID[a.ID]); err != nil {
					refused = append(refused, refusal(r, a, err))
					continue
				}
				ready = append(ready, a)
			}
		}
	}
	rep := &rollout.Report{Operation: rollout.OpUp, StartedAt: time.Now(), Results: []rollout.Result{}}
	if len(ready) > 0 {
		rep, err = r.Up(ctx, ready)
		if err != nil {
			return nil, err
		}
		f.after(ctx, ff, rep, planned)
	}
	rep.Merge(refused...)
	if err := rep.WriteFiles(runDir); err != nil {
		return nil, err
	}
	return rep, nil
}

// refusal is the report's entry for an account the plan refused.
func refusal(r *rollout.Runner, a targets.Account, err error) rollout.Result {
	msg := err.Error()
	var re *plan.RefusedError
	if errors.As(err, &re) {
		msg = "refused by the plan, nothing changed: " + strings.Join(re.Reasons, "; ")
	}
	return rollout.Result{Account: a, Stack: r.StackName(a.ID), Status: rollout.StatusFailed, Kind: rollout.KindRefused, Error: msg}
}

// after checks each updated account's live IAM against the plan's: an update that did not
// produce what was approved fails the account (it was changed, and the report says how).
func (f *planFlags) after(ctx context.Context, ff *fleetFlags, rep *rollout.Report, planned map[string]*plan.Account) {
	base, err := ff.aws(ctx)
	if err != nil {
		return
	}
	reader := liveReader{base: base, role: ff.role()}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ff.parallel(false))
	for i := range rep.Results {
		res := &rep.Results[i]
		pa := planned[res.Account.ID]
		if res.Status != rollout.StatusSucceeded || pa == nil || pa.Want == nil {
			continue
		}
		want := pa.Want
		g.Go(func() error {
			live, err := liveIAM(gctx, reader, res.Account.ID, want)
			reason := ""
			switch {
			case err != nil:
				reason = "applied, but its live IAM could not be read to check it against the plan: " + err.Error()
			case plan.Digest(live) != plan.Digest(want):
				d := diff.Compare(want, live)
				var lines []string
				for _, l := range d.Lines {
					lines = append(lines, l.String())
				}
				reason = "applied, but its live IAM differs from the plan's: " + strings.Join(lines, "; ")
			}
			if reason != "" {
				mu.Lock()
				res.Status, res.Kind, res.Error = rollout.StatusFailed, rollout.KindRefused, reason
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	rep.Merge()
}
