package rollout

// A run over many accounts: the preflight, the backend listing and fingerprint records read
// once, the per-worker AWS providers, and the loop that starts accounts up to the parallelism
// and stops past the failure tolerance.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func (r *Runner) run(ctx context.Context, op Operation, accounts []targets.Account) (*Report, error) {
	return r.runWith(ctx, &pass{Runner: r, op: op, removeStacks: r.opts.RemoveStacks, aws: r.opts.AWS}, accounts)
}

func (r *Runner) runWith(ctx context.Context, p *pass, accounts []targets.Account) (*Report, error) {
	op := p.op
	rep := &Report{Operation: op, StartedAt: time.Now(), Backend: r.opts.Backend, MaxFailures: r.opts.MaxFailures.String()}
	if len(accounts) == 0 {
		return nil, errors.New("no target accounts: check the OU, account and tag filters (rollout accounts lists what they select)")
	}
	if err := r.ensureStateDir(); err != nil {
		return nil, err
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

	env, release, err := r.env()
	if err != nil {
		return nil, err
	}
	// Released however the run ends, interrupted included: the passphrase file goes with it.
	defer release()
	p.env = env
	if r.secrets.KMS() && p.op != OpStatus {
		// A KMS fleet's data key, made or decrypted once, before any account: without it no
		// fingerprint can be checked nor record sealed.
		if _, err := r.secretKey(ctx); err != nil {
			return nil, err
		}
	}

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

	// The accounts to work on: all but those whose last update used this very config, which
	// `up` does not touch.
	var pending []targets.Account
	for _, a := range accounts {
		if _, upToDate := fresh[a.ID]; !upToDate {
			pending = append(pending, a)
		}
	}

	// Preflight: prove access to every account that is to be worked on, before touching any
	// stack. An up-to-date account's role is not assumed: an unchanged re-run of 1,000
	// accounts makes no STS call.
	denied := map[string]error{}
	preflight := p.aws != nil && !r.opts.SkipPreflight && op != OpStatus
	if preflight {
		denied = access.Preflight(ctx, *p.aws, sts.NewFromConfig(*p.aws), r.opts.ExecutionRole, pending, preflightParallel(r.opts.Parallel))
	}
	// The plugin check comes after the preflight, which needs no plugin, and before any stack
	// is touched.
	if r.dep.NeedsAWSPlugin && op != OpStatus {
		if ok, _ := pulumicli.AWSPluginInstalled(); !ok {
			err := pulumicli.MissingAWSPlugin()
			if preflight {
				err = fmt.Errorf("preflight: %d of %d accounts to work on reachable through %s; %w", len(pending)-len(denied), len(pending),
					r.opts.ExecutionRole.RoleARN(r.opts.ExecutionRole.Partition, "ACCOUNT"), err)
			}
			return nil, err
		}
	}

	// The accounts left to work on (denied ones fail at once), spread evenly over the workers.
	work := len(pending) - len(denied)
	workers := balancedWorkers(work, r.opts.Parallel)

	// One AWS provider per worker, attached to by each account's CLI in turn (providers.go).
	var providers *providerPool
	if r.dep.NeedsAWSPlugin && op != OpStatus && !r.opts.ProviderPerAccount {
		if bin, penv := sharedProvider(env), providerEnv(env); bin != "" && sharable(penv) {
			providers = newProviderPool(workers, bin, penv, r.opts.RunDir)
			defer providers.close()
		}
	}

	limit := r.opts.MaxFailures.Limit(len(accounts))
	var mu sync.Mutex
	failures := 0
	sem := make(chan struct{}, workers)
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
		auto.SecretsProvider(r.secrets.URL),
	)
}
