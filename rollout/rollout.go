// Package rollout is the fleet driver: it deploys, previews, inspects or removes one Pulumi
// stack per AWS account through the Automation API, with bounded parallelism, a failure
// tolerance, per-account timeouts, retries, and a report. The program is a value (the binary
// passes the vendor program; tests pass one that needs no cloud plugin), run inline, so no
// Pulumi language host is involved.
package rollout

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Deployment is what the rollout puts into every account.
type Deployment struct {
	// Project is the Pulumi project name; default byoc-access.
	Project string
	// Program is run inline for every account.
	Program pulumi.RunFunc
	// StackConfig returns an account's stack config (keys with their namespace, e.g.
	// "byoc-access:vendor"); the rollout adds aws:region and aws:assumeRole itself.
	StackConfig func(targets.Account) (map[string]string, error)
	// SecretConfig returns config values stored encrypted with the passphrase (tokens, or
	// external IDs the customer treats as secret); same key form as StackConfig.
	SecretConfig func(targets.Account) (map[string]string, error)
	// NeedsAWSPlugin says the program creates AWS resources, so runs check for the plugin
	// before touching any stack.
	NeedsAWSPlugin bool
	// Existing, when set, lists what the program would create that already exists in an
	// account ("role/NAME", "policy/NAME"), read with the account's assumed-role config. The
	// preflight uses it on new stacks: without Adopt such an account fails with the list
	// instead of failing later with EntityAlreadyExists; with Adopt the names are handed to the
	// program as config key AdoptKey so it imports them.
	Existing func(ctx context.Context, a targets.Account, cfg aws.Config) ([]string, error)
	// AdoptKey is the config key that carries the names to import, as a JSON list.
	AdoptKey string
	// Version identifies the program and spec (e.g. the binary's version and a hash of the
	// vendor spec); it is part of each account's fingerprint.
	Version string
	// FingerprintKey is the config key the rollout sets to the account's fingerprint; the
	// program must export it as the stack output "fingerprint", so that a successful update
	// records it in state and later runs can skip accounts whose inputs did not change.
	FingerprintKey string
}

// EventType says what happened to an account.
type EventType string

// Event types.
const (
	EventStarted  EventType = "started"
	EventRetrying EventType = "retrying"
	EventFinished EventType = "finished"
)

// Event is one step of one account, for progress displays.
type Event struct {
	// Time is when it happened.
	Time time.Time
	// Type is what happened.
	Type EventType
	// Account is the account it happened to.
	Account targets.Account
	// Result is the account's outcome, on EventFinished.
	Result *Result
	// Message is the retry reason, on EventRetrying.
	Message string
	// Total is how many accounts the run covers, so a display can show progress as a fraction.
	Total int
}

// Runner runs operations over accounts. Its methods may be called from several goroutines;
// what one run keeps while it goes (the stacks it found, its progress count) is its own.
type Runner struct {
	dep  Deployment
	opts Options
	// store reads the backend directly (file:// and s3://); nil for Pulumi Cloud.
	store backend.Store
	// cli runs every CLI child, keeping the passphrase out of their environment and their
	// pids for telling the run's own stack locks from others'.
	cli *childCLI
	// passphrase is handed to the children as a private file while a run is in progress.
	passphrase passphraseFile
	// eventMu makes OnEvent calls one at a time: sinks are plain functions.
	eventMu sync.Mutex
	// layout caches the backend's layout once it is decided; see backendLayout.
	layoutMu sync.Mutex
	layout   backend.Layout
}

// pass is one run of one operation over a list of accounts: the state it keeps while it
// goes, apart from the Runner, so that runs never share it (two runs on one Runner, or a
// sync's prune after its up).
type pass struct {
	*Runner
	op Operation
	// known are the stacks that existed when the run started, when the store can list them.
	known map[string]bool
	// total is the number of accounts of the run, for progress events.
	total int
	// env is the CLI's environment for this run's workspaces.
	env map[string]string
	// removeStacks removes each stack after a successful destroy.
	removeStacks bool
	// aws, when set, is the base config of the preflight and of the adoption checks.
	aws *aws.Config
	// unchanged are the accounts of a drift run whose last successful update had this run's
	// fingerprint, by account ID.
	unchanged map[string]bool
}

// New checks the deployment and options and returns a Runner. Problems in what the user gave
// are reported here, before any account is touched.
func New(dep Deployment, opts ...Option) (*Runner, error) {
	o := Options{MaxFailures: Unlimited, Backoff: 2 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.Parallel == 0 {
		o.Parallel = DefaultParallel(dep.NeedsAWSPlugin)
	}
	if dep.Project == "" {
		dep.Project = "byoc-access"
	}
	if dep.Program == nil {
		return nil, errors.New("rollout: a program is required")
	}
	if o.Parallel < 1 {
		return nil, fmt.Errorf("--parallel %d: want 1 or more", o.Parallel)
	}
	if o.Retries < 0 {
		return nil, fmt.Errorf("--retries %d: want 0 or more", o.Retries)
	}
	if err := o.ExecutionRole.Validate(); err != nil {
		return nil, err
	}
	if o.Passphrase == "" && !strings.HasPrefix(o.Backend, "https://") {
		return nil, errors.New("no secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or pass --passphrase-file")
	}
	if strings.TrimSpace(o.Passphrase) != o.Passphrase {
		// The CLI gets the passphrase as a file and trims what it reads, so it would encrypt
		// with a different key than the one given.
		return nil, errors.New("the secrets passphrase starts or ends with white space, which the Pulumi CLI would drop: remove it from PULUMI_CONFIG_PASSPHRASE or the passphrase file")
	}
	if err := validateStackPrefix(o.StackPrefix); err != nil {
		return nil, err
	}
	if o.Backend == "" {
		dir, err := filepath.Abs(filepath.Join(".byoc-access", "state"))
		if err != nil {
			return nil, err
		}
		o.Backend = "file://" + dir
	}
	if err := prepareBackend(o.Backend); err != nil {
		return nil, err
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Pulumi == nil {
		cmd, err := pulumicli.Find()
		if err != nil {
			return nil, err
		}
		o.Pulumi = cmd
	}
	r := &Runner{dep: dep, opts: o, cli: newChildCLI(o.Pulumi), passphrase: passphraseFile{phrase: o.Passphrase}}
	r.store = r.openStore(context.Background())
	return r, nil
}

var stackPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)

func validateStackPrefix(p string) error {
	if !stackPrefixPattern.MatchString(p) || len(p) > 80 {
		return fmt.Errorf("--stack-prefix %q: letters, digits, _ . - only, at most 80 characters", p)
	}
	return nil
}

// prepareBackend checks the backend URL and creates a local state directory.
func prepareBackend(url string) error {
	loc, err := backend.Parse(url)
	var ue *backend.URLError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("--backend %q: %w: use file://DIR, s3://BUCKET?region=..., or https://api.pulumi.com", url, ue.Err)
	case err != nil:
		return fmt.Errorf("--backend %q: %w", url, err)
	}
	if loc.Kind == backend.KindFile && loc.Dir != "" {
		if err := os.MkdirAll(loc.Dir, 0o700); err != nil {
			return fmt.Errorf("--backend %s: cannot create the state directory: %w", url, err)
		}
	}
	return nil
}

// StackName is the stack of one account in this runner.
func (r *Runner) StackName(accountID string) string { return StackName(r.opts.StackPrefix, accountID) }

// StackName is the stack of one account: the account ID, after the prefix when there is one
// ("prod-123456789012"), so several rollouts can share a backend.
func StackName(prefix, accountID string) string {
	if prefix == "" {
		return accountID
	}
	return prefix + "-" + accountID
}

// Backend is the state backend URL in use.
func (r *Runner) Backend() string { return r.opts.Backend }

// Up deploys the program into every account.
func (r *Runner) Up(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.run(ctx, OpUp, accounts)
}

// Preview shows what Up would change in every account.
func (r *Runner) Preview(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.run(ctx, OpPreview, accounts)
}

// Destroy removes what the program created in every account (offboarding).
func (r *Runner) Destroy(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.run(ctx, OpDestroy, accounts)
}

// Drift refreshes every account's stack from the cloud and previews the program against it:
// any change the preview shows is drift between what was deployed and what exists.
func (r *Runner) Drift(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.run(ctx, OpDrift, accounts)
}

// Status reads every account's stack from state, without running the program.
func (r *Runner) Status(ctx context.Context, accounts []targets.Account) (*Report, error) {
	return r.run(ctx, OpStatus, accounts)
}

// emit hands an event to OnEvent, one call at a time, so a sink may append to a slice or
// count without a lock of its own.
func (p *pass) emit(e Event) {
	if p.opts.OnEvent != nil {
		e.Time = time.Now()
		e.Total = p.total
		p.eventMu.Lock()
		defer p.eventMu.Unlock()
		p.opts.OnEvent(e)
	}
}

func (r *Runner) run(ctx context.Context, op Operation, accounts []targets.Account) (*Report, error) {
	return r.runWith(ctx, &pass{Runner: r, op: op, removeStacks: r.opts.RemoveStacks, aws: r.opts.AWS}, accounts)
}

func (r *Runner) runWith(ctx context.Context, p *pass, accounts []targets.Account) (*Report, error) {
	op := p.op
	rep := &Report{Operation: op, StartedAt: time.Now(), Backend: r.opts.Backend, MaxFailures: r.opts.MaxFailures.String()}
	if len(accounts) == 0 {
		return nil, errors.New("no target accounts: check the OU, account and tag filters (rollout accounts lists what they select)")
	}
	if r.opts.RunDir != "" {
		if err := os.MkdirAll(r.opts.RunDir, 0o755); err != nil {
			return nil, fmt.Errorf("run directory: %w", err)
		}
	}

	p.total = len(accounts)
	results := make([]Result, len(accounts))
	for i, a := range accounts {
		results[i] = Result{Account: a, Stack: r.StackName(a.ID), Status: StatusNotStarted}
	}

	// Preflight: prove access to every account before touching any stack.
	denied := map[string]error{}
	preflight := p.aws != nil && !r.opts.SkipPreflight && op != OpStatus
	if preflight {
		denied = access.Preflight(ctx, *p.aws, sts.NewFromConfig(*p.aws), r.opts.ExecutionRole, accounts, r.opts.Parallel)
	}
	// The plugin check comes after the preflight, which needs no plugin, and before any stack
	// is touched.
	if r.dep.NeedsAWSPlugin && op != OpStatus {
		if ok, _ := pulumicli.AWSPluginInstalled(); !ok {
			err := pulumicli.MissingAWSPlugin()
			if preflight {
				err = fmt.Errorf("preflight: %d of %d accounts reachable through %s; %w", len(accounts)-len(denied), len(accounts),
					r.opts.ExecutionRole.RoleARN(r.opts.ExecutionRole.Partition, "ACCOUNT"), err)
			}
			return nil, err
		}
	}

	env, release, err := r.env()
	if err != nil {
		return nil, err
	}
	// Released however the run ends, interrupted included: the passphrase file goes with it.
	defer release()
	p.env = env

	if r.store != nil {
		if stacks, err := r.existingStacks(ctx); err == nil {
			p.known = stacks
		}
	}
	fresh := map[string]record{}
	if op == OpUp && p.known != nil && r.dep.FingerprintKey != "" && !r.opts.Force && !r.opts.Refresh {
		fresh = r.upToDateAll(ctx, accounts, p.known)
	}
	if op == OpDrift && p.known != nil && r.dep.FingerprintKey != "" {
		// Accounts last updated with this very config: their refresh and their preview may
		// share a provider (runShared).
		p.unchanged = map[string]bool{}
		for id := range r.upToDateAll(ctx, accounts, p.known) {
			p.unchanged[id] = true
		}
	}

	// One AWS provider per worker, attached to by each account's CLI in turn (providers.go).
	var providers *providerPool
	if r.dep.NeedsAWSPlugin && op != OpStatus && !r.opts.ProviderPerAccount {
		if bin, penv := sharedProvider(env), providerEnv(env); bin != "" && sharable(penv) {
			providers = newProviderPool(r.opts.Parallel, bin, penv, r.opts.RunDir)
			defer providers.close()
		}
	}

	limit := r.opts.MaxFailures.Limit(len(accounts))
	var mu sync.Mutex
	failures := 0
	sem := make(chan struct{}, r.opts.Parallel)
	var wg sync.WaitGroup
	stopped := false
	for i := range accounts {
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		if failures > limit {
			stopped = true
		}
		mu.Unlock()
		if stopped {
			break
		}
		if rec, ok := fresh[accounts[i].ID]; ok {
			res := &results[i]
			res.Status, res.UpToDate, res.RoleArns, res.ExternalID = StatusSucceeded, true, rec.RoleArns, rec.ExternalID
			p.emit(Event{Type: EventFinished, Account: accounts[i], Result: res})
			continue
		}
		if err, ok := denied[accounts[i].ID]; ok {
			res := &results[i]
			res.Status, res.Kind, res.Error = StatusFailed, KindAssumeRole, err.Error()
			mu.Lock()
			failures++
			mu.Unlock()
			p.emit(Event{Type: EventFinished, Account: accounts[i], Result: res})
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		// Check again: a failure may have come in while waiting for a slot.
		mu.Lock()
		stop := failures > limit
		mu.Unlock()
		if stop {
			<-sem
			stopped = true
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			res := &results[i]
			p.emit(Event{Type: EventStarted, Account: accounts[i]})
			actx := ctx
			if providers != nil {
				h := providers.take()
				defer providers.give(h)
				actx = withProvider(ctx, h)
			}
			p.account(actx, accounts[i], res)
			if res.Status == StatusFailed {
				mu.Lock()
				failures++
				mu.Unlock()
			}
			p.emit(Event{Type: EventFinished, Account: accounts[i], Result: res})
		}(i)
	}
	wg.Wait()

	rep.Interrupted = ctx.Err() != nil
	for i := range results {
		if results[i].Status == StatusNotStarted && rep.Interrupted {
			results[i].Error = "not started: the run was interrupted"
		} else if results[i].Status == StatusNotStarted {
			results[i].Error = fmt.Sprintf("not started: more than %s accounts failed (--max-failures)", r.opts.MaxFailures)
		}
	}
	rep.Results = results
	rep.Duration = time.Since(rep.StartedAt)
	rep.count()
	if r.opts.RunDir != "" {
		if err := rep.WriteFiles(r.opts.RunDir); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

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

// env is the CLI's environment for the workspaces of one run: backend, the passphrase file and
// the settings that keep a headless CLI from reaching for the network. The passphrase itself
// is never in it; the file exists until release is called.
func (r *Runner) env() (env map[string]string, release func(), err error) {
	env = map[string]string{
		"PULUMI_BACKEND_URL":                          r.opts.Backend,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_SKIP_CONFIRMATIONS":                   "true",
	}
	for k, v := range r.opts.Env {
		env[k] = v
	}
	for _, k := range pulumicli.PassphraseEnv {
		delete(env, k)
	}
	release = func() {}
	if r.opts.Passphrase != "" {
		path, rel, err := r.passphrase.acquire()
		if err != nil {
			return nil, nil, err
		}
		env["PULUMI_CONFIG_PASSPHRASE_FILE"], release = path, rel
	}
	return env, release, nil
}

func (r *Runner) workspace(ctx context.Context, env map[string]string) (auto.Workspace, error) {
	proj := workspace.Project{Name: tokens.PackageName(r.dep.Project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	return auto.NewLocalWorkspace(ctx,
		auto.Program(r.dep.Program),
		auto.Project(proj),
		auto.Pulumi(r.cli),
		auto.EnvVars(env),
		auto.SecretsProvider("passphrase"),
	)
}

// stackConfig is the full config of an account's stack: the deployment's keys and the AWS
// provider's region and assumed role, set in one CLI call.
func (r *Runner) stackConfig(a targets.Account) (auto.ConfigMap, error) {
	cfg := auto.ConfigMap{}
	if r.dep.StackConfig != nil {
		kv, err := r.dep.StackConfig(a)
		if err != nil {
			return nil, err
		}
		for k, v := range kv {
			cfg[k] = auto.ConfigValue{Value: v}
		}
	}
	role := r.opts.ExecutionRole
	if r.dep.SecretConfig != nil {
		kv, err := r.dep.SecretConfig(a)
		if err != nil {
			return nil, err
		}
		for k, v := range kv {
			cfg[k] = auto.ConfigValue{Value: v, Secret: true}
		}
	}
	cfg["aws:region"] = auto.ConfigValue{Value: r.opts.Region}
	cfg["aws:assumeRole.roleArn"] = auto.ConfigValue{Value: role.RoleARN(role.Partition, a.ID)}
	cfg["aws:assumeRole.sessionName"] = auto.ConfigValue{Value: role.Session(a.ID)}
	if role.Duration != 0 {
		// The provider's session lasts as long as the preflight's would: a long update must
		// not outlive a short session, nor a short policy be widened by the provider's default.
		cfg["aws:assumeRole.duration"] = auto.ConfigValue{Value: role.Duration.String()}
	}
	if role.ExternalID != "" {
		cfg["aws:assumeRole.externalId"] = auto.ConfigValue{Value: role.ExternalID, Secret: true}
	}
	return cfg, nil
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
			return p.status(ctx, ws, name, res)
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
	if op == OpUp {
		fillOutputs(res, er.Outputs)
		// Hook (recover.go): the killed update's pending creates are in state now.
		if pending {
			if err := p.recoverAfterUpdate(ctx, ws, a, name, log); err != nil {
				return err
			}
		}
		p.remember(ctx, name, fp, res)
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
		// Known to be new: one `stack init` instead of a failing select and then an init.
		_, err := auto.NewStack(ctx, name, ws)
		if auto.IsCreateStack409Error(err) {
			// An earlier attempt of this run created it before failing (a retry).
			return nil
		}
		return err
	default:
		_, err := auto.UpsertStack(ctx, name, ws)
		return err
	}
}

// setFingerprint adds the account's fingerprint to its stack config and returns it; "" when
// the deployment keeps none.
func (r *Runner) setFingerprint(cfg auto.ConfigMap) string {
	if r.dep.FingerprintKey == "" {
		return ""
	}
	fp := fingerprint(r.opts.Passphrase, r.dep.Version, cfg)
	cfg[r.dep.FingerprintKey] = auto.ConfigValue{Value: fp}
	return fp
}

// fingerprint digests everything an account's update depends on: the program and spec
// version and the stack config (provider config included). It is an HMAC keyed with the
// secrets passphrase because it is stored as a plain output and the config holds secrets.
func fingerprint(key, version string, cfg auto.ConfigMap) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(h, "%s\n", version)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, cfg[k].Value)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// upToDate reports whether the account's stack was last updated successfully with this
// fingerprint; if so it fills the result from the stack's outputs. It is the fallback when the
// backend could not be listed: one light CLI call replaces a whole update.
func (r *Runner) upToDate(ctx context.Context, ws auto.Workspace, name, fp string, res *Result) bool {
	outs, err := maskedOutputs(ctx, ws, name)
	if err != nil {
		return false
	}
	if got, _ := outs["fingerprint"].Value.(string); got != fp {
		return false
	}
	fillOutputs(res, outs)
	res.UpToDate = true
	return true
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
func (p *pass) unlock(a targets.Account) {
	if p.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := p.StackName(a.ID)
	ours := p.cli.ended(name)
	if len(ours) == 0 {
		return
	}
	held, err := locks.OfStack(ctx, p.store, p.dep.Project, name)
	if err != nil {
		return
	}
	host, _ := os.Hostname()
	for _, l := range held {
		if l.HeldByOneOf(host, ours) {
			_ = locks.Remove(ctx, p.store, l)
		}
	}
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
