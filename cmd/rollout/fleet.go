package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// targetFlags choose the accounts.
type targetFlags struct {
	OUs               []string
	Accounts          []string
	AccountTags       []string
	ExcludeAccounts   []string
	ExcludeOUs        []string
	IncludeManagement bool
	AccountsFile      string
	Region            string
}

func (f *targetFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.OUs, "ou", nil, "OU ID (ou-...) or path (Root/Workloads) to include, recursively (repeatable)")
	fl.StringArrayVar(&f.Accounts, "account", nil, "account ID to include (repeatable)")
	fl.StringArrayVar(&f.AccountTags, "account-tag", nil, "include accounts with this tag key=value (repeatable; all must match)")
	fl.StringArrayVar(&f.ExcludeAccounts, "exclude-account", nil, "account ID to leave out (repeatable)")
	fl.StringArrayVar(&f.ExcludeOUs, "exclude-ou", nil, "OU ID or path to leave out, recursively (repeatable)")
	fl.BoolVar(&f.IncludeManagement, "include-management", false, "act on the organization's management account too")
	fl.StringVar(&f.AccountsFile, "accounts-file", "", "CSV or YAML list of accounts, instead of reading AWS Organizations")
	fl.StringVar(&f.Region, "region", "us-east-1", "AWS region of the deployment and of the API calls")
}

func (f *targetFlags) filter() (targets.Filter, error) {
	tags, err := parseKeyValues("--account-tag", f.AccountTags)
	if err != nil {
		return targets.Filter{}, err
	}
	flt := targets.Filter{
		OUs: f.OUs, Accounts: f.Accounts, AccountTags: tags, ExcludeAccounts: f.ExcludeAccounts,
		ExcludeOUs: f.ExcludeOUs, IncludeManagement: f.IncludeManagement,
	}
	if err := flt.Validate(); err != nil {
		return flt, asUsage(err)
	}
	if f.AccountsFile != "" {
		for _, ou := range append(append([]string{}, f.OUs...), f.ExcludeOUs...) {
			if strings.HasPrefix(ou, "ou-") || strings.HasPrefix(ou, "r-") {
				return flt, usagef("--accounts-file and --ou/--exclude-ou %s conflict: an accounts file has OU paths, not OU IDs; use a path such as Root/Workloads", ou)
			}
		}
		if f.IncludeManagement {
			return flt, usagef("--accounts-file and --include-management conflict: an accounts file does not say which account is the management account")
		}
	}
	return flt, nil
}

// resolve returns this shard's target accounts.
func (f *fleetFlags) resolve(ctx context.Context) (targets.Result, error) {
	res, err := f.targets.resolve(ctx, func() (aws.Config, error) { return f.aws(ctx) })
	if err != nil {
		return res, err
	}
	shard, err := targets.ParseShard(f.Shard)
	if err != nil {
		return res, asUsage(err)
	}
	res.Targets = shard.Select(res.Targets)
	return res, nil
}

// targetAccounts is resolve for commands that act on accounts: an empty selection is a usage
// error that says how to see what the filters select.
func (f *fleetFlags) targetAccounts(ctx context.Context) ([]targets.Account, error) {
	res, err := f.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if len(res.Targets) == 0 {
		return nil, usagef("no target accounts: the filters select none (%d skipped); `rollout accounts` shows what they select", len(res.Skipped))
	}
	return res.Targets, nil
}

// resolve returns the target accounts: from the accounts file, or from Organizations.
func (f *targetFlags) resolve(ctx context.Context, cfg func() (aws.Config, error)) (targets.Result, error) {
	flt, err := f.filter()
	if err != nil {
		return targets.Result{}, err
	}
	if f.AccountsFile != "" {
		accts, err := targets.LoadAccountsFile(f.AccountsFile)
		if err != nil {
			return targets.Result{}, asUsage(err)
		}
		res, err := targets.ApplyFilter(accts, flt)
		return res, asUsage(err)
	}
	c, err := cfg()
	if err != nil {
		return targets.Result{}, err
	}
	res, err := targets.Discover(ctx, organizations.NewFromConfig(c), flt)
	if err != nil {
		if errors.As(err, new(*targets.InputError)) {
			return res, asUsage(err)
		}
		return res, fmt.Errorf("discover accounts (give --accounts-file if you cannot read AWS Organizations): %w", err)
	}
	return res, nil
}

// noArgs rejects positional arguments as a usage error (exit 2), where cobra.NoArgs' error
// would exit 1: a stray account ID on the command line is a typo, not a failed account.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q: choose accounts with --account, --ou or --accounts-file", c.CommandPath(), args[0])
	}
	return nil
}

// fleetFlags are everything a fleet operation needs besides the vendor.
type fleetFlags struct {
	targets             targetFlags
	ExecutionRole       string
	ExecutionExternalID string
	SessionName         string
	Backend             string
	PassphraseFile      string
	StackPrefix         string
	Parallel            int
	MaxFailures         string
	Timeout             time.Duration
	Retries             int
	WaitLock            bool
	NoPreflight         bool
	SessionDuration     time.Duration
	Adopt               bool
	Shard               string
	Force               bool
	Refresh             bool
	Output              string
	RunDir              string

	awsOnce  sync.Once
	awsCfg   aws.Config
	awsErr   error
	progress *progress
}

func (f *fleetFlags) register(c *cobra.Command) {
	f.targets.register(c)
	fl := c.Flags()
	fl.StringVar(&f.ExecutionRole, "execution-role", access.DefaultRoleName, "role to assume in each account: a name, or an ARN template with {account}")
	fl.StringVar(&f.ExecutionExternalID, "execution-external-id", "", "external ID the execution role requires (or BYOC_EXECUTION_EXTERNAL_ID)")
	fl.StringVar(&f.SessionName, "session-name", "", "AssumeRole session name shown in CloudTrail (default byoc-access-ACCOUNT)")
	fl.DurationVar(&f.SessionDuration, "session-duration", 0, "AssumeRole session duration, 15m to 12h, for the preflight and the provider (default: STS's, 1h for the provider)")
	fl.StringVar(&f.Backend, "backend", "", "state backend URL (default $PULUMI_BACKEND_URL, else file://./.byoc-access/state)")
	fl.StringVar(&f.PassphraseFile, "passphrase-file", "", "file holding the secrets passphrase (default $PULUMI_CONFIG_PASSPHRASE or $PULUMI_CONFIG_PASSPHRASE_FILE)")
	fl.StringVar(&f.StackPrefix, "stack-prefix", "", "prefix of stack names: PREFIX-ACCOUNT")
	fl.IntVar(&f.Parallel, "parallel", 0, "accounts worked on at once (default: fitted to this machine's cores and free memory)")
	fl.StringVar(&f.Shard, "shard", "", "work on shard i of n (i/n), split by account ID, so CI runners can share one backend")
	fl.BoolVar(&f.Force, "force", false, "up: update accounts whose fingerprint (program, spec, parameters, provider config) is unchanged")
	fl.BoolVar(&f.Refresh, "refresh", false, "up: refresh each stack from AWS before updating (implies --force)")
	fl.StringVar(&f.MaxFailures, "max-failures", "", "stop starting accounts after more than N (or P%) failed (default: no limit)")
	fl.DurationVar(&f.Timeout, "timeout", 15*time.Minute, "per-account timeout (0 for none)")
	fl.IntVar(&f.Retries, "retries", 2, "retries of throttled (and, with --wait-lock, locked) accounts")
	fl.BoolVar(&f.WaitLock, "wait-lock", false, "when a stack is locked by another run, wait and retry instead of failing")
	fl.BoolVar(&f.NoPreflight, "no-preflight", false, "skip the AssumeRole check of every account before deploying")
	fl.StringVar(&f.Output, "output", "text", "text or json (the report on stdout)")
	fl.BoolVar(&f.Adopt, "adopt", false, "up: import roles and policies that already exist with the spec's names instead of failing")
	fl.StringVar(&f.RunDir, "run-dir", "", "directory for per-account logs and reports (default .byoc-access/runs/TIME-OP)")
}

func (f *fleetFlags) aws(ctx context.Context) (aws.Config, error) {
	f.awsOnce.Do(func() {
		f.awsCfg, f.awsErr = access.NewAWSConfig(ctx, f.targets.Region)
	})
	return f.awsCfg, f.awsErr
}

func (f *fleetFlags) role() access.ExecutionRole {
	ext := f.ExecutionExternalID
	if ext == "" {
		ext = os.Getenv("BYOC_EXECUTION_EXTERNAL_ID")
	}
	return access.ExecutionRole{NameOrTemplate: f.ExecutionRole, ExternalID: ext, SessionName: f.SessionName, Duration: f.SessionDuration}
}

// parallel is --parallel, or the machine-fitted default when it is 0.
func (f *fleetFlags) parallel(needsPlugin bool) int {
	if f.Parallel > 0 {
		return f.Parallel
	}
	return rollout.DefaultParallel(needsPlugin)
}

// passphrase reads the secrets passphrase from a file or the environment; it is never printed.
func (f *fleetFlags) passphrase() (string, error) {
	file := f.PassphraseFile
	if file == "" {
		if p := os.Getenv("PULUMI_CONFIG_PASSPHRASE"); p != "" {
			return p, nil
		}
		file = os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE")
	}
	if file == "" {
		return "", usagef("no secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or pass --passphrase-file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usagef("--passphrase-file: %v", err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", usagef("--passphrase-file %s is empty", file)
	}
	return p, nil
}

func (f *fleetFlags) backend() string {
	if f.Backend != "" {
		return f.Backend
	}
	return os.Getenv("PULUMI_BACKEND_URL")
}

// check validates the fleet flags that need no I/O.
func (f *fleetFlags) check() error {
	if f.Output != "text" && f.Output != "json" {
		return usagef("--output %q: use text or json", f.Output)
	}
	if f.Parallel < 0 {
		return usagef("--parallel %d: want 1 or more (or 0 to fit this machine)", f.Parallel)
	}
	if _, err := targets.ParseShard(f.Shard); err != nil {
		return asUsage(err)
	}
	if f.Retries < 0 {
		return usagef("--retries %d: want 0 or more", f.Retries)
	}
	if f.Timeout < 0 {
		return usagef("--timeout %s: want 0 or more", f.Timeout)
	}
	if _, err := rollout.ParseFailureTolerance(f.MaxFailures); err != nil {
		return asUsage(err)
	}
	if err := f.role().Validate(); err != nil {
		return asUsage(err)
	}
	_, err := f.targets.filter()
	return err
}

// runner builds the rollout runner for a deployment; input problems are usage errors.
func (f *fleetFlags) runner(ctx context.Context, c *cobra.Command, op rollout.Operation, dep rollout.Deployment, extra ...rollout.Option) (*rollout.Runner, string, error) {
	pass, err := f.passphrase()
	if err != nil {
		return nil, "", err
	}
	tol, _ := rollout.ParseFailureTolerance(f.MaxFailures)
	f.progress = newProgress(c.ErrOrStderr())
	runDir := f.RunDir
	if runDir == "" {
		runDir = filepath.Join(".byoc-access", "runs", time.Now().UTC().Format("20060102T150405Z")+"-"+string(op))
	}
	opts := []rollout.Option{
		rollout.Backend(f.backend()), rollout.Passphrase(pass), rollout.StackPrefix(f.StackPrefix),
		rollout.Region(f.targets.Region), rollout.ExecutionRole(f.role()), rollout.Parallel(f.Parallel),
		rollout.MaxFailures(tol), rollout.Timeout(f.Timeout), rollout.Retries(f.Retries), rollout.WaitLock(f.WaitLock),
		rollout.RunDir(runDir), rollout.OnEvent(f.progress.event), rollout.Adopt(f.Adopt),
		rollout.Force(f.Force), rollout.Refresh(f.Refresh),
	}
	if op != rollout.OpStatus {
		// The SDK config serves the preflight and, separately, adoption's reads: --adopt
		// works with --no-preflight and with an accounts file too.
		cfg, err := f.aws(ctx)
		if err != nil {
			return nil, "", err
		}
		opts = append(opts, rollout.Preflight(cfg), rollout.SkipPreflight(f.NoPreflight || f.targets.AccountsFile != ""))
		if f.targets.AccountsFile == "" {
			opts = append(opts, rollout.RecheckAccounts(organizations.NewFromConfig(cfg)))
		}
	}
	r, err := rollout.New(dep, append(opts, extra...)...)
	if err != nil {
		if errors.As(err, new(*pulumicli.NotFoundError)) {
			return nil, "", err
		}
		return nil, "", asUsage(err)
	}
	return r, runDir, nil
}

// vendorDeployment is rollout.VendorDeployment with the vendor flags' spec, parameters and
// tags; bad input is a usage error.
func vendorDeployment(vf *vendorFlags, region string) (rollout.Deployment, error) {
	spec, params, err := vf.load()
	if err != nil {
		return rollout.Deployment{}, err
	}
	tags, err := vf.tags()
	if err != nil {
		return rollout.Deployment{}, err
	}
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{
		Vendor: vf.Vendor, SpecFile: vf.SpecFile, Spec: spec, Params: params, Tags: tags, Region: region, Version: version,
	})
	return dep, deploymentError(err)
}

// deploymentError makes rollout.VendorDeployment's bad-input errors usage errors (exit 2).
func deploymentError(err error) error {
	if errors.As(err, new(*rollout.SpecError)) || errors.As(err, new(*rollout.LintError)) {
		return asUsage(err)
	}
	return err
}

// finish prints the report and turns failures into exit code 1.
func finish(c *cobra.Command, f *fleetFlags, rep *rollout.Report, runDir string) error {
	f.progress.done()
	out := c.OutOrStdout()
	if f.Output == "json" {
		if err := rep.WriteJSON(out); err != nil {
			return err
		}
	} else {
		printTable(out, rep)
		fmt.Fprintf(c.ErrOrStderr(), "reports and logs: %s\n", runDir)
	}
	return outcome(rep)
}

// outcome turns a report into the command's result: exit 1 for failures, drift or interrupts.
func outcome(rep *rollout.Report) error {
	if rep.Interrupted {
		return failedError{msg: "interrupted: the summary above covers what ran; run again to finish"}
	}
	if rep.Operation == rollout.OpDrift && rep.Counts.Drifted > 0 {
		return failedError{msg: fmt.Sprintf("drift in %d of %d accounts", rep.Counts.Drifted, rep.Counts.Total)}
	}
	if rep.Failed() {
		return failedError{msg: fmt.Sprintf("%d of %d accounts failed", rep.Counts.Failed+rep.Counts.Cancelled+rep.Counts.NotStarted, rep.Counts.Total)}
	}
	return nil
}

func printTable(w io.Writer, rep *rollout.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tRESULT\tDURATION\tCHANGES\tERROR")
	for _, r := range rep.Results {
		errText := r.Error
		if r.Kind != "" {
			errText = string(r.Kind) + ": " + errText
		}
		status := string(r.Status)
		if r.Drifted {
			status = "drifted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Account.ID, r.Account.Name, r.Account.OUPath, status,
			r.Duration.Round(100*time.Millisecond), rollout.ChangeText(r.Changes), errText)
	}
	_ = tw.Flush()
	c := rep.Counts
	fmt.Fprintf(w, "\n%s: %d accounts, %d succeeded (%d changed, %d unchanged of which %d skipped by fingerprint), %d failed, %d skipped, %d not started, %d cancelled in %s\n",
		rep.Operation, c.Total, c.Succeeded, c.Changed, c.Unchanged, c.UpToDate, c.Failed, c.Skipped, c.NotStarted, c.Cancelled, rep.Duration.Round(time.Second))
	if c.Changes != nil {
		fmt.Fprintf(w, "resources: %s\n", rollout.TotalsText(c.Changes))
	}
}

// progress shows a live bar on a terminal and plain log lines otherwise.
type progress struct {
	mu                                  sync.Mutex
	w                                   io.Writer
	tty                                 bool
	bar                                 *progressbar.ProgressBar
	running, succeeded, failed, skipped int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) event(e rollout.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case rollout.EventStarted:
		p.running++
	case rollout.EventFinished:
		// Accounts that fail their preflight or are skipped by fingerprint never started.
		if e.Result.Attempts > 0 {
			p.running--
		}
		switch e.Result.Status {
		case rollout.StatusSucceeded:
			p.succeeded++
		case rollout.StatusSkipped:
			p.skipped++
		default:
			p.failed++
		}
	}
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(e.Total, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
				progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
		}
		p.bar.Describe(fmt.Sprintf("running %d  succeeded %d  failed %d  skipped %d", p.running, p.succeeded, p.failed, p.skipped))
		if e.Type == rollout.EventFinished {
			_ = p.bar.Add(1)
		}
		return
	}
	line := fmt.Sprintf("%s %s %s", e.Time.UTC().Format(time.RFC3339), e.Account.ID, e.Type)
	if e.Result != nil {
		line += " " + string(e.Result.Status)
		if e.Result.UpToDate {
			line += " (unchanged, skipped by fingerprint)"
		}
		if e.Result.Error != "" {
			line += ": " + e.Result.Error
		}
	}
	if e.Message != "" {
		line += ": " + e.Message
	}
	done := p.succeeded + p.failed + p.skipped
	fmt.Fprintf(p.w, "%s [%d/%d]\n", line, done, e.Total)
}

// done clears the bar, so the summary table starts on a clean line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
