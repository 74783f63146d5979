package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

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
		rollout.Backend(f.backend()), rollout.Passphrase(pass), rollout.SecretsProviderURL(f.SecretsProvider), rollout.StackPrefix(f.StackPrefix),
		rollout.Region(f.targets.Region), rollout.ExecutionRole(f.role()), rollout.Parallel(f.Parallel),
		rollout.MaxFailures(tol), rollout.Timeout(f.Timeout), rollout.Retries(f.Retries), rollout.WaitLock(f.WaitLock),
		rollout.RunDir(runDir), rollout.OnEvent(f.progress.event), rollout.Adopt(f.Adopt),
		rollout.Force(f.Force), rollout.Refresh(f.Refresh), rollout.ProviderPerAccount(f.ProviderPerAccount),
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

// perAccountRunner resolves each account's own parameter values (running commands where a
// source needs them, their stderr to the account's log in runDir) and returns the runner that
// deploys them, with the run directory, where the values are written as params.json.
func perAccountRunner(c *cobra.Command, op rollout.Operation, vf *vendorFlags, ff *fleetFlags, accounts []targets.Account, runDir string) (*rollout.Runner, string, *fleetParams, error) {
	p, err := resolveParams(c.Context(), vf, ff, accounts, true, accountLog(runDir))
	if err != nil {
		return nil, "", nil, err
	}
	dep, err := p.deployment(ff.targets.Region)
	if errors.Is(err, rollout.ErrNoAccountResolved) {
		// Every account failed its own values: there is nothing to deploy, and each says why.
		p.printParams(c.ErrOrStderr())
		return nil, "", nil, failedError{msg: fmt.Sprintf("%d of %d accounts failed: no account has usable parameter values", len(accounts), len(accounts))}
	}
	if err != nil {
		return nil, "", nil, err
	}
	r, runDir, err := ff.runner(c.Context(), c, op, dep)
	if err != nil {
		return nil, "", nil, err
	}
	if err := p.writeParamsFile(runDir); err != nil {
		return nil, "", nil, fmt.Errorf("run directory: %w", err)
	}
	return r, runDir, p, nil
}
