package rollout

// One account's operation: its retries with backoff and the classification of failures, and
// each operation's steps (update or preview, drift, destroy, status) on the account's stack.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/rollout/backend/locks"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// account runs one operation on one account, with retries, and fills in its result.
func (p *pass) account(ctx context.Context, a targets.Account, res *Result) {
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	// The pids of this account's CLI children are only needed until it is done.
	defer p.cli.ended(p.StackName(a.ID))
	// One workspace per account for the whole run: retries and the unlock after a timeout
	// reuse it instead of writing a new project directory each time.
	ws, err := p.workspace(ctx, p.env)
	if err != nil {
		res.Status, res.Kind, res.Error = StatusFailed, KindEngine, "workspace: "+reasonLine(err.Error())
		return
	}
	defer os.RemoveAll(ws.WorkDir())
	var logFile *os.File
	if p.opts.RunDir != "" {
		path := filepath.Join(p.opts.RunDir, a.ID+".log")
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			logFile = f
			res.LogFile = path
			defer f.Close()
		}
	}
	for attempt := 0; ; attempt++ {
		res.Attempts = attempt + 1
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.opts.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.opts.Timeout)
		}
		res.Status = StatusNotStarted
		err := p.once(actx, ws, a, res, logFile)
		if err == nil {
			cancel()
			// once marks accounts it had nothing to do for as skipped, with the reason.
			if res.Status != StatusSkipped {
				res.Status, res.Kind, res.Error = StatusSucceeded, "", ""
			}
			return
		}
		ae := classify(actx, a.ID, err)
		if sig, ok := p.cli.killedChild(p.StackName(a.ID)); ok && ae.Kind != KindInterrupted && actx.Err() == nil {
			// A child killed where the error lost its exit status (`stack init` through the
			// Automation API).
			ae = interrupted(a.ID, "", sig, err)
		}
		cancel()
		res.Kind, res.Error = ae.Kind, ae.Reason
		res.Status = StatusFailed
		if ae.Kind == KindCancelled {
			res.Status = StatusCancelled
			p.unlock(a)
			return
		}
		if ae.Kind == KindTimeout {
			p.unlock(a)
		}
		if ae.Kind == KindInterrupted {
			// The killed CLI is this run's own child: its lock is this run's to remove, and
			// the account is not run again at once (what killed it may be killing more).
			next := "; run `rollout up` for it again"
			if p.unlock(a) > 0 {
				next = "; this run removed the stack lock it left, so the next `rollout up` resumes the account"
			}
			res.Error = ae.Reason + next
			return
		}
		if attempt >= p.opts.Retries || !retryable(ae, p.opts.WaitLock) || ctx.Err() != nil {
			return
		}
		delay := backoff(p.opts.Backoff, attempt)
		p.emit(Event{Type: EventRetrying, Account: a, Message: fmt.Sprintf("%s: %s; retrying in %s", ae.Kind, ae.Reason, delay.Round(time.Millisecond))})
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			res.Status, res.Kind, res.Error = StatusCancelled, KindCancelled, "cancelled: the run was interrupted"
			return
		}
	}
}

func backoff(base time.Duration, attempt int) time.Duration {
	d := base << attempt
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	// Full jitter keeps many accounts retrying against one throttled API from moving in step.
	return d/2 + rand.N(d/2+1)
}

// recheck asks the organization whether the account is still an active member.
func (r *Runner) recheck(ctx context.Context, a targets.Account) error {
	if r.opts.Organization == nil {
		return nil
	}
	out, err := r.opts.Organization.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(a.ID)})
	var nf *orgtypes.AccountNotFoundException
	switch {
	case errors.As(err, &nf):
		return &AccountError{AccountID: a.ID, Kind: KindGone, Reason: "the account is no longer in the organization (it left after discovery)", Err: err}
	case err != nil:
		return fmt.Errorf("describe account: %w", err)
	}
	status := string(out.Account.State)
	if status == "" {
		status = string(out.Account.Status)
	}
	if status != "ACTIVE" {
		return &AccountError{AccountID: a.ID, Kind: KindGone, Reason: "the account is " + status + " (it changed after discovery)"}
	}
	return nil
}

func (p *pass) once(ctx context.Context, ws auto.Workspace, a targets.Account, res *Result, log *os.File) error {
	op := p.op
	if op == OpUp || op == OpPreview {
		if err := p.recheck(ctx, a); err != nil {
			return err
		}
	}
	name := p.StackName(a.ID)
	// Hook (recover.go): repair what a killed run left that would fail every CLI command.
	if err := p.repairBeforeOp(ctx, op, a, name, log); err != nil {
		return err
	}
	if err := p.restoreKMSSettings(ctx, ws, a, name); err != nil {
		return err
	}

	if op == OpStatus || op == OpDestroy {
		found, err := p.exists(ctx, ws, name)
		if err == nil && !found && op == OpDestroy && p.known != nil {
			// Saying "nothing to destroy" for a stack that exists would leave the vendor's
			// access in place behind a success, so the CLI has the last word over the listing.
			found, err = stackExists(ctx, ws, name)
		}
		switch {
		case err != nil:
			return err
		case !found && op == OpDestroy:
			res.Status, res.Error = StatusSkipped, "no stack: nothing to destroy"
			return nil
		case !found:
			return &AccountError{AccountID: a.ID, Kind: KindConfig, Reason: "no stack " + name + " in " + p.opts.Backend + ": the account was never deployed"}
		case op == OpStatus:
			return p.status(ctx, ws, a, name, res)
		default:
			return p.destroy(ctx, ws, name, res, log)
		}
	}

	if op == OpDrift {
		found, err := p.exists(ctx, ws, name)
		if err != nil {
			return err
		}
		if !found {
			res.Status = StatusSkipped
			res.Error = "no stack: the account is not managed by byoc-access here"
			return nil
		}
		return p.drift(ctx, ws, name, a, res, log)
	}

	cfg, err := p.stackConfig(a)
	if err != nil {
		return &AccountError{AccountID: a.ID, Kind: KindConfig, Reason: err.Error(), Err: err}
	}
	fp := p.setFingerprint(cfg)
	res.Fingerprint = fp
	if fp != "" && op == OpUp && p.known == nil && !p.opts.Force && !p.opts.Refresh && p.upToDate(ctx, ws, name, fp, res) {
		return nil
	}
	adopt, err := p.adoptions(ctx, ws, a)
	if err != nil {
		return err
	}
	// Hook (recover.go): import what a killed update created without state knowing.
	adopt, pending, err := p.recoverBeforeUpdate(ctx, op, a, name, adopt, log)
	if err != nil {
		return err
	}
	if err := p.ensureStack(ctx, ws, name); err != nil {
		return fmt.Errorf("stack %s: %w", name, err)
	}
	if p.dep.AdoptKey != "" {
		cfg[p.dep.AdoptKey] = auto.ConfigValue{Value: adopt}
	}
	if err := writeConfig(ctx, ws, name, cfg); err != nil {
		return fmt.Errorf("set config: %w", err)
	}
	eop := engineOp{Command: "preview", Stack: name, Log: log}
	if op == OpUp {
		eop.Command, eop.Refresh = "up", p.opts.Refresh
		p.forget(ctx, name)
	}
	er, err := runEngine(ctx, ws, eop)
	if err != nil {
		return err
	}
	res.Changes = er.Changes
	if op == OpPreview {
		res.Steps = er.Steps
	}
	if op == OpUp {
		fillOutputs(res, er.Outputs)
		// Hook (recover.go): the killed update's pending creates are in state now.
		if pending {
			if err := p.recoverAfterUpdate(ctx, ws, a, name, log); err != nil {
				return err
			}
		}
		p.remember(ctx, a, name, fp, res)
	}
	return nil
}

// ensureStack makes sure the account's stack exists in the backend. When the backend listing
// at the start of the run says so, it costs nothing: every later command names the stack, so
// there is nothing to select.
func (p *pass) ensureStack(ctx context.Context, ws auto.Workspace, name string) error {
	switch {
	case p.known != nil && p.known[name]:
		return nil
	case p.known != nil:
		// Known to be new: made directly (stackinit.go), instead of a failing select and then
		// an init.
		return p.createStack(ctx, ws, name)
	default:
		_, err := auto.UpsertStack(ctx, name, ws)
		return err
	}
}

// adoptions checks a new stack's account for resources the program would create that already
// exist. It returns the JSON list to hand to the program when adopting.
func (p *pass) adoptions(ctx context.Context, ws auto.Workspace, a targets.Account) (string, error) {
	if p.dep.Existing == nil || p.aws == nil {
		return "[]", nil
	}
	if found, err := p.exists(ctx, ws, p.StackName(a.ID)); err != nil {
		return "", err
	} else if found {
		// A deployed stack manages its resources already.
		return "[]", nil
	}
	role := p.opts.ExecutionRole
	cfg := role.Credentials(*p.aws, sts.NewFromConfig(*p.aws), role.Partition, a.ID)
	existing, err := p.dep.Existing(ctx, a, cfg)
	if err != nil {
		return "", fmt.Errorf("look for existing resources: %w", err)
	}
	if len(existing) == 0 {
		return "[]", nil
	}
	if !p.opts.Adopt {
		return "", &AccountError{AccountID: a.ID, Kind: KindConflict,
			Reason: fmt.Sprintf("already exist in the account: %s; pass --adopt to bring them under management, or remove them", strings.Join(existing, ", "))}
	}
	b, err := json.Marshal(existing)
	return string(b), err
}

func (p *pass) drift(ctx context.Context, ws auto.Workspace, name string, a targets.Account, res *Result, log *os.File) error {
	r := p.Runner
	cfg, err := r.stackConfig(a)
	if err != nil {
		return &AccountError{AccountID: a.ID, Kind: KindConfig, Reason: err.Error(), Err: err}
	}
	// The same config an update would set, so that only the cloud's drift shows.
	r.setFingerprint(cfg)
	if r.dep.AdoptKey != "" {
		cfg[r.dep.AdoptKey] = auto.ConfigValue{Value: "[]"}
	}
	if err := writeConfig(ctx, ws, name, cfg); err != nil {
		return fmt.Errorf("set config: %w", err)
	}
	er, err := runEngine(ctx, ws, engineOp{Command: "preview", Stack: name, Refresh: true, SameConfig: p.unchanged[a.ID], Log: log})
	if err != nil {
		return err
	}
	res.Changes = er.Changes
	res.Drifted = changed(res.Changes)
	return nil
}

// exists says whether the account's stack is in the backend: from the run's backend listing
// when there is one, else by asking the CLI.
func (p *pass) exists(ctx context.Context, ws auto.Workspace, name string) (bool, error) {
	if p.known != nil {
		return p.known[name], nil
	}
	return stackExists(ctx, ws, name)
}

// stackExists asks the CLI whether a stack exists.
func stackExists(ctx context.Context, ws auto.Workspace, name string) (bool, error) {
	_, err := auto.SelectStack(ctx, name, ws)
	if auto.IsSelectStack404Error(err) {
		return false, nil
	}
	return err == nil, err
}

func (p *pass) destroy(ctx context.Context, ws auto.Workspace, name string, res *Result, log *os.File) error {
	p.forget(ctx, name)
	er, err := runEngine(ctx, ws, engineOp{Command: "destroy", Stack: name, Remove: p.removeStacks, Log: log})
	if err != nil {
		if isNoStack(err) {
			// Gone since the run listed the backend (an earlier attempt removed it).
			res.Status, res.Error = StatusSkipped, "no stack: nothing to destroy"
			return nil
		}
		return err
	}
	res.Changes = er.Changes
	return nil
}

func (r *Runner) status(ctx context.Context, ws auto.Workspace, name string, res *Result) error {
	last, outs, err := lastUpdate(ctx, ws, name)
	if err != nil {
		return err
	}
	if last != nil {
		res.LastUpdate = last.StartTime
		res.LastResult = last.Result
		res.Changes = nil
		if last.ResourceChanges != nil {
			res.Changes = *last.ResourceChanges
		}
	}
	fillOutputs(res, outs)
	return nil
}

// unlock removes the stack lock this run's own CLI left after a timeout or interrupt, so the
// next run does not find the stack locked. The CLI got SIGINT (and SIGKILL ten seconds later),
// which normally releases its lock; this covers a CLI killed before it could.
//
// Only a lock whose holder is one of this account's CLI children (pid and host, all ended) is
// removed. `pulumi cancel` (auto.Stack.Cancel) would delete every lock of the stack, including
// the live lock of another run that took the stack meanwhile, such as an overlapping CI job
// or one waiting with --wait-lock, and two updates would then run on one stack. Other locks
// are left for `rollout unlock`. On Pulumi Cloud, whose locks cannot be read here, nothing is
// done: the service ends an interrupted update itself, and `pulumi cancel` there would end
// whichever update holds the stack.
//
// It returns how many locks it removed.
func (p *pass) unlock(a targets.Account) int {
	if p.store == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := p.StackName(a.ID)
	ours := p.cli.ended(name)
	if len(ours) == 0 {
		return 0
	}
	held, err := locks.OfStack(ctx, p.store, p.dep.Project, name)
	if err != nil {
		return 0
	}
	host, _ := os.Hostname()
	removed := 0
	for _, l := range held {
		if l.HeldByOneOf(host, ours) && locks.Remove(ctx, p.store, l) == nil {
			removed++
		}
	}
	return removed
}

func fillOutputs(res *Result, outs auto.OutputMap) {
	res.Outputs = map[string]any{}
	for k, v := range outs {
		if v.Secret {
			res.Outputs[k] = "[secret]"
			continue
		}
		res.Outputs[k] = v.Value
	}
	if roles, ok := outs["roleArns"].Value.(map[string]any); ok {
		res.RoleArns = map[string]string{}
		for n, arn := range roles {
			res.RoleArns[n] = fmt.Sprint(arn)
		}
	}
	if ext, ok := outs["externalId"].Value.(string); ok {
		res.ExternalID = ext
	}
}
