package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

// watchInput are sync's flags (vendor, per-account parameters, filters, execution role,
// backend, --prune) and the queue's.
type watchInput struct {
	sync           syncInput
	QueueURL       string
	QueueRegion    string
	Visibility     time.Duration
	RetryBackoff   time.Duration
	MaxBackoff     time.Duration
	Grace          time.Duration
	ReconcileEvery time.Duration
	StaleLockAfter time.Duration
	PollWait       time.Duration
}

func newWatchCmd() *cobra.Command {
	in := &watchInput{}
	c := &cobra.Command{
		Use:   "watch --queue-url URL --vendor NAME|--spec FILE [--param k=v ...] [filters] [--prune] [--reconcile-every D]",
		Short: "Onboard accounts as they join or move: a long-lived worker on the SQS queue of Organizations events",
		Long: `watch consumes the SQS queue that ` + "`rollout watch setup`" + ` feeds with AWS Organizations events
(CreateAccountResult, AcceptHandshake, InviteAccountToOrganization, MoveAccount,
RemoveAccountFromOrganization, CloseAccount). For each account an event names it reads the
account's OU, tags and state from Organizations again, and onboards it when the filters select it
now, as up does (preflight, adoption, per-account parameters, fingerprints), or, with --prune,
offboards it when they no longer do. It takes the same flags as sync.

Any number of watch processes, on any machines, can share one queue and one S3 backend: SQS hands
each message to one worker at a time, a failure makes it visible again after a backoff, and the
queue's redrive policy moves it to the dead-letter queue after maxReceiveCount receives. A stack
lock left by a worker that died (its process gone from this host, or older than
--stale-lock-after) is taken over. SIGTERM finishes the accounts in hand within --grace or hands
their messages back, then exits 0. --reconcile-every runs a full sync at start and then that
often, on one worker at a time (a lock in the backend), to catch what no event said.

stdout is one JSON line per event, account outcome, retry and reconcile (with the handoff of each
onboarded account), and the counters on exit.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runWatch(c, in) },
	}
	in.sync.vendor.register(c)
	in.sync.vendor.registerPerAccount(c)
	in.sync.fleet.register(c)
	fl := c.Flags()
	fl.BoolVar(&in.sync.Prune, "prune", false, "offboard an account an event shows no longer matches the filters (moved out, suspended, removed, closed); the reconcile offboards departed ones")
	fl.StringVar(&in.QueueURL, "queue-url", os.Getenv("BYOC_WATCH_QUEUE_URL"), "the SQS queue of Organizations events (printed by `rollout watch setup`; or BYOC_WATCH_QUEUE_URL)")
	fl.StringVar(&in.QueueRegion, "queue-region", "us-east-1", "the queue's region (Organizations events land in us-east-1)")
	fl.DurationVar(&in.Visibility, "visibility", 2*time.Minute, "how long a received message stays hidden from other workers; extended every third of it while its account is worked on")
	fl.DurationVar(&in.RetryBackoff, "retry-backoff", 30*time.Second, "how long a failed message waits before its retry; doubles with each receive")
	fl.DurationVar(&in.MaxBackoff, "max-backoff", 15*time.Minute, "the longest wait before a retry")
	fl.DurationVar(&in.Grace, "grace", 25*time.Second, "on SIGTERM, how long the accounts in hand may take to finish before their messages are handed back")
	fl.DurationVar(&in.ReconcileEvery, "reconcile-every", 0, "run a full sync at start and then this often, one worker at a time (0: never)")
	fl.DurationVar(&in.StaleLockAfter, "stale-lock-after", 20*time.Minute, "take over a stack lock held from another host once it is this old, longer than --timeout (a lock whose process is gone from this host is taken over at once; 0: never)")
	fl.DurationVar(&in.PollWait, "poll-wait", 20*time.Second, "long-polling wait of each receive, 1s to 20s")
	c.AddCommand(newWatchSetupCmd())
	return c
}

// check validates watch's own flags, which need no I/O.
func (in *watchInput) check() error {
	if err := in.sync.fleet.check(); err != nil {
		return err
	}
	switch {
	case in.QueueURL == "":
		return usagef("--queue-url is required: the queue `rollout watch setup` printed (or set BYOC_WATCH_QUEUE_URL)")
	case !strings.HasPrefix(in.QueueURL, "https://") && !strings.HasPrefix(in.QueueURL, "http://"):
		return usagef("--queue-url %q: want the queue's URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME", in.QueueURL)
	case in.sync.fleet.targets.AccountsFile != "":
		return usagef("watch reads each account from Organizations when its event arrives: it cannot use --accounts-file")
	case in.sync.fleet.Shard != "":
		return usagef("watch does not take --shard: workers share the queue, and SQS hands out the accounts")
	case in.Visibility < 10*time.Second || in.Visibility > 12*time.Hour:
		return usagef("--visibility %s: want 10s to 12h (SQS's limit)", in.Visibility)
	case in.RetryBackoff < time.Second || in.MaxBackoff < in.RetryBackoff || in.MaxBackoff > 12*time.Hour:
		return usagef("--retry-backoff %s, --max-backoff %s: want 1s <= retry-backoff <= max-backoff <= 12h", in.RetryBackoff, in.MaxBackoff)
	case in.Grace < 0:
		return usagef("--grace %s: want 0 or more", in.Grace)
	case in.ReconcileEvery < 0 || (in.ReconcileEvery > 0 && in.ReconcileEvery < time.Minute):
		return usagef("--reconcile-every %s: want 1m or more (0: never)", in.ReconcileEvery)
	case in.StaleLockAfter < 0:
		return usagef("--stale-lock-after %s: want 0 or more", in.StaleLockAfter)
	case in.StaleLockAfter > 0 && in.sync.fleet.Timeout > 0 && in.StaleLockAfter <= in.sync.fleet.Timeout:
		// A live update may hold its stack's lock for up to --timeout.
		return usagef("--stale-lock-after %s must be longer than --timeout %s: a live worker's update may hold its lock that long", in.StaleLockAfter, in.sync.fleet.Timeout)
	case in.PollWait < time.Second || in.PollWait > 20*time.Second:
		return usagef("--poll-wait %s: want 1s to 20s (SQS's limit)", in.PollWait)
	}
	return nil
}

func runWatch(c *cobra.Command, in *watchInput) error {
	ctx := c.Context()
	if err := in.check(); err != nil {
		return err
	}
	ff := &in.sync.fleet
	h := &watchHandler{c: c, in: in, base: ff.RunDir}
	if h.base == "" {
		h.base = filepath.Join(".byoc-access", "runs", time.Now().UTC().Format("20060102T150405Z")+"-watch")
	}
	h.perAccount = perAccountWanted(&in.sync.vendor, "")
	if h.perAccount {
		if _, _, err := in.sync.vendor.load(ctx); err != nil {
			return err
		}
	} else {
		vf := in.sync.vendor
		vf.perAccount = nil
		dep, err := vendorDeployment(ctx, &vf, ff.targets.Region)
		if err != nil {
			return err
		}
		h.dep = dep
	}
	// The runner's checks (passphrase, backend, stack prefix, the Pulumi CLI) come before the
	// first message is taken.
	ff.RunDir = h.base
	probe, _, err := ff.runner(ctx, c, rollout.OpUp, rollout.StateDeployment())
	if err != nil {
		return err
	}
	h.project = probe.Project()
	flt, err := ff.targets.filter()
	if err != nil {
		return err
	}
	h.filter = flt
	cfg, err := ff.aws(ctx)
	if err != nil {
		return err
	}
	h.org = organizations.NewFromConfig(cfg)
	// The filters' OUs are checked against the organization now, so a typo is a usage error
	// at start rather than a failure of every event.
	if _, err := ff.resolve(ctx); err != nil {
		return err
	}
	st, err := locks.Open(ctx, probe.Backend(), cfg)
	if err != nil && !errors.Is(err, backend.ErrUnsupported) {
		return fmt.Errorf("state backend: %w", err)
	}
	h.store = st
	opts := watch.Options{
		QueueURL: in.QueueURL, Slots: ff.parallel(true), Visibility: in.Visibility, Wait: in.PollWait,
		Backoff: in.RetryBackoff, MaxBackoff: in.MaxBackoff, Grace: in.Grace, Log: c.OutOrStdout(),
		Name: workerName(),
	}
	if in.ReconcileEvery > 0 {
		opts.ReconcileEvery, opts.Reconcile = in.ReconcileEvery, h.reconcile
		if st != nil {
			// A reconcile that outlives twice its interval is presumed dead.
			opts.ReconcileLock = &watch.Lock{Store: st, TTL: 2 * in.ReconcileEvery}
		}
	}
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.Region = in.QueueRegion })
	_, err = watch.Run(ctx, q, h, opts)
	return err
}

func workerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// watchHandler works on one account with the machinery of up and sync.
type watchHandler struct {
	c          *cobra.Command
	in         *watchInput
	base       string
	perAccount bool
	dep        rollout.Deployment
	project    string
	filter     targets.Filter
	org        *organizations.Client
	store      backend.Store
	// mu guards the fleet flags, which building a runner and the reconcile's sync use.
	mu sync.Mutex
}

// runner builds the runner for one account: with that account's own parameter values when
// per-account sources are given, each in a run directory of its own.
// Offboarding needs no parameter values, as destroy does not: an account that left the
// filters may well have lost the tag its values came from.
func (h *watchHandler) runner(a targets.Account, offboard bool) (*rollout.Runner, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ff := &h.in.sync.fleet
	ff.RunDir = filepath.Join(h.base, time.Now().UTC().Format("20060102T150405.000Z")+"-"+a.ID)
	if offboard {
		r, _, err := ff.runner(h.c.Context(), h.c, rollout.OpDestroy, rollout.StateDeployment())
		return r, err
	}
	if h.perAccount {
		r, _, _, err := perAccountRunner(h.c, rollout.OpUp, &h.in.sync.vendor, ff, []targets.Account{a}, ff.RunDir)
		return r, err
	}
	r, _, err := ff.runner(h.c.Context(), h.c, rollout.OpUp, h.dep)
	return r, err
}

// Account onboards or offboards one account as the organization says it stands now.
func (h *watchHandler) Account(ctx context.Context, id string) (watch.Outcome, error) {
	lk, err := targets.DiscoverAccount(ctx, h.org, h.filter, id)
	if err != nil {
		return watch.Outcome{}, fmt.Errorf("read account %s from Organizations: %w", id, err)
	}
	r, err := h.runner(lk.Account, !lk.Target)
	if err != nil {
		return watch.Outcome{Action: watch.ActionOnboard}, err
	}
	if lk.Target {
		return h.onboard(ctx, r, lk.Account)
	}
	reason := "the account is not in the organization"
	if lk.InOrganization {
		reason = lk.Reason
	}
	has, err := r.HasStack(ctx, id)
	if err != nil {
		return watch.Outcome{Action: watch.ActionNone}, fmt.Errorf("account %s: list stacks: %w", id, err)
	}
	if !has {
		return watch.Outcome{Action: watch.ActionNone, Reason: reason + "; nothing deployed there"}, nil
	}
	if !h.in.sync.Prune {
		return watch.Outcome{Action: watch.ActionNone, Reason: reason + "; its stack is kept (pass --prune to offboard)"}, nil
	}
	out := watch.Outcome{Action: watch.ActionOffboard}
	res, err := h.withTakeover(ctx, r, id, &out, func() (*rollout.Report, error) { return r.Offboard(ctx, []targets.Account{lk.Account}) })
	if err != nil {
		return out, err
	}
	out.Result, out.Reason = res.Status, reason
	return out, nil
}

func (h *watchHandler) onboard(ctx context.Context, r *rollout.Runner, a targets.Account) (watch.Outcome, error) {
	out := watch.Outcome{Action: watch.ActionOnboard}
	res, err := h.withTakeover(ctx, r, a.ID, &out, func() (*rollout.Report, error) { return r.Up(ctx, []targets.Account{a}) })
	if err != nil {
		return out, err
	}
	out.Result, out.Unchanged = res.Status, res.UpToDate
	out.Handoff = &rollout.Handoff{AccountID: a.ID, Name: a.Name, OUPath: a.OUPath, RoleArns: res.RoleArns, ExternalID: res.ExternalID}
	if res.UpToDate && len(res.RoleArns) == 0 {
		// Skipped by fingerprint: the handoff comes from state.
		if hs, _, err := r.Handoff(ctx, []targets.Account{a}); err == nil && len(hs) == 1 {
			out.Handoff = &hs[0]
		}
	}
	return out, nil
}

// withTakeover runs one account's operation; when it fails on a stack lock whose holder is
// dead (a worker killed mid-account), it takes the lock over and runs it once more.
func (h *watchHandler) withTakeover(ctx context.Context, r *rollout.Runner, id string, out *watch.Outcome, run func() (*rollout.Report, error)) (rollout.Result, error) {
	for attempt := 0; ; attempt++ {
		rep, err := run()
		if err != nil {
			return rollout.Result{}, fmt.Errorf("account %s: %w", id, err)
		}
		res := rep.Results[0]
		if res.Status == rollout.StatusSucceeded || res.Status == rollout.StatusSkipped && res.UpToDate {
			return res, nil
		}
		if res.Kind == rollout.KindLockHeld && attempt == 0 && h.store != nil {
			removed, terr := watch.TakeOverStaleStackLocks(ctx, h.store, h.project, r.StackName(id), h.in.StaleLockAfter)
			for _, l := range removed {
				out.LockTakenOver = append(out.LockTakenOver, l.Holder())
			}
			if terr == nil && len(removed) > 0 {
				continue
			}
		}
		msg := res.Error
		if res.Kind != "" {
			msg = string(res.Kind) + ": " + msg
		}
		if res.LogFile != "" {
			msg += " (log: " + res.LogFile + ")"
		}
		return res, &rollout.AccountError{AccountID: id, Kind: res.Kind, Reason: msg}
	}
}

// reconcile is the full sync, with watch's flags.
func (h *watchHandler) reconcile(ctx context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.in.sync.fleet.RunDir = filepath.Join(h.base, time.Now().UTC().Format("20060102T150405Z")+"-reconcile")
	rep, _, err := syncOnce(ctx, h.c, &h.in.sync)
	if err != nil {
		return "", err
	}
	pruned := 0
	for _, o := range rep.Orphans {
		if o.Pruned {
			pruned++
		}
	}
	n := rep.Counts
	summary := fmt.Sprintf("%d accounts: %d succeeded (%d unchanged), %d failed; %d orphaned stacks, %d offboarded",
		n.Total, n.Succeeded+n.UpToDate, n.UpToDate, n.Failed+n.Cancelled+n.NotStarted, len(rep.Orphans), pruned)
	if rep.Failed() {
		return summary, errors.New(summary)
	}
	return summary, nil
}
