// Package rollout is the fleet driver, the last link of spec → grant → component → stack →
// account: it deploys, previews, inspects or removes one Pulumi stack per AWS account through
// the Automation API, with bounded parallelism, a failure tolerance, per-account timeouts,
// retries, and a report. VendorDeployment builds what every account gets (the vendor program
// of components/program, checked before any account is touched); New and a Runner's Up,
// Preview, Drift, Destroy and Status run it over the accounts that package targets discovers,
// reached through package access, with per-account values from package params and state read
// directly through package backend. The program is a value run inline, so no Pulumi language
// host is involved, and each worker's accounts share one AWS provider process.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout/backend"
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
	// OwnCredentials deploys each stack with the caller's own credentials instead of the
	// execution role assumed in its account: for stacks that belong in the caller's account,
	// such as the event queue of `rollout watch setup` in the management account, where no
	// execution role exists. Runs of such a deployment should set no Preflight config.
	OwnCredentials bool
	// FingerprintKey is the config key the rollout sets to the account's fingerprint; the
	// program must export it as the stack output "fingerprint", so that a successful update
	// records it in state and later runs can skip accounts whose inputs did not change.
	FingerprintKey string
	// Applied, when set, says what an update of the account applies (spec, parameters,
	// program version); it is kept in the account's record after a successful update, so a
	// later rollback can return the account to it. Secret values are sealed before they are
	// stored.
	Applied func(targets.Account) (*Applied, error)
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
	// sealer encrypts the secret parameters kept in records of what was applied.
	sealer *sealer
	// secrets is the stacks' secrets provider; with a KMS key, dataKey replaces the
	// passphrase as the key of the fingerprints and of the sealer.
	secrets SecretsProvider
	dataKey *dataKey
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
	// newStacks makes the run's new stacks (stackinit.go).
	newStacks newStacks
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
	secrets, err := ParseSecretsProvider(o.SecretsProvider)
	if err != nil {
		return nil, err
	}
	if secrets.KMS() {
		// The KMS key encrypts the stacks' secrets: no passphrase is used, nor handed on.
		o.Passphrase = ""
	}
	if o.Passphrase == "" && !secrets.KMS() && !strings.HasPrefix(o.Backend, "https://") {
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
	r := &Runner{dep: dep, opts: o, cli: newChildCLI(o.Pulumi), passphrase: passphraseFile{phrase: o.Passphrase}, secrets: secrets}
	r.store = r.openStore(context.Background())
	r.sealer = &sealer{passphrase: o.Passphrase}
	if secrets.KMS() {
		r.dataKey = &dataKey{provider: secrets, store: r.store, client: r.kmsClient}
		r.sealer = &sealer{dataKey: func() ([]byte, error) { return r.dataKey.get(context.Background()) }}
	}
	return r, nil
}

var stackPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)

func validateStackPrefix(p string) error {
	if !stackPrefixPattern.MatchString(p) || len(p) > 80 {
		return fmt.Errorf("--stack-prefix %q: letters, digits, _ . - only, at most 80 characters", p)
	}
	return nil
}

// prepareBackend checks the backend URL, and that a local state directory can be created. It
// creates nothing: the directory is made when a run starts (ensureStateDir), after the
// command has checked every input, so that bad input leaves no trace.
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
		if err := canCreateDir(loc.Dir); err != nil {
			return fmt.Errorf("--backend %s: cannot create the state directory: %w", url, err)
		}
	}
	return nil
}

// canCreateDir proves that dir exists or can be made, leaving nothing behind: it makes the
// missing directories and removes them again. Asking access(2) is not enough, since it
// answers yes for root wherever mkdir would still fail (under /proc, on a read-only mount).
func canCreateDir(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is a file", dir)
		}
		return nil
	}
	top := dir // the highest directory that does not exist yet
	for {
		parent := filepath.Dir(top)
		if parent == top {
			break
		}
		if _, err := os.Stat(parent); err == nil {
			break
		}
		top = parent
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if err := os.Remove(d); err != nil || d == top {
			return err
		}
	}
}

// ensureStateDir makes a file backend's state directory, at the start of a run.
func (r *Runner) ensureStateDir() error {
	if dir, ok := backend.FileDir(r.opts.Backend); ok && dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("--backend %s: cannot create the state directory: %w", r.opts.Backend, err)
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

// Project is the Pulumi project of the runner's stacks, which their locks are filed under.
func (r *Runner) Project() string { return r.dep.Project }

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
