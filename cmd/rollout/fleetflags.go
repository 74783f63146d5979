package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/inputfile"
	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// fleetFlags are everything a fleet operation needs besides the vendor.
type fleetFlags struct {
	targets             targetFlags
	ExecutionRole       string
	ExecutionExternalID string
	SessionName         string
	Backend             string
	PassphraseFile      string
	SecretsProvider     string
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
	ProviderPerAccount  bool
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
	fl.StringVar(&f.SecretsProvider, "secrets-provider", rollout.PassphraseProvider, "how new stacks encrypt their secrets: passphrase, or awskms://KEY-ID-OR-ALIAS?region=REGION[&endpoint=URL] (an ARN after three slashes), which needs no passphrase")
	fl.StringVar(&f.StackPrefix, "stack-prefix", "", "prefix of stack names: PREFIX-ACCOUNT")
	fl.IntVar(&f.Parallel, "parallel", 0, "the most accounts worked on at once; fewer when that takes the same number of rounds (default: fitted to this machine's cores and free memory)")
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
	fl.BoolVar(&f.ProviderPerAccount, "provider-per-account", false, "start an AWS provider for every account instead of one per worker that each account attaches to (slower)")
}

// check validates the fleet flags that need no I/O.
func (f *fleetFlags) check() error {
	if f.Output != "text" && f.Output != "json" {
		return usagef("--output %q: use text or json", f.Output)
	}
	if f.Parallel < 0 || f.Parallel > maxParallel {
		return usagef("--parallel %d: want 1 to %d (or 0 to fit this machine)", f.Parallel, maxParallel)
	}
	if f.RunDir != "" {
		if st, err := os.Stat(f.RunDir); err == nil && !st.IsDir() {
			return usagef("--run-dir %s is a file: name a directory, new or existing", f.RunDir)
		}
	}
	if _, err := rollout.ParseSecretsProvider(f.SecretsProvider); err != nil {
		return asUsage(err)
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
	if _, err := f.targets.filter(); err != nil {
		return err
	}
	return f.checkRolePartition()
}

// maxParallel bounds --parallel: each account in flight runs a Pulumi CLI and may run an AWS
// provider, hundreds of MB each, so a larger number is a typo that would exhaust the machine.
const maxParallel = 256

// checkRolePartition refuses an execution role ARN in another partition than --region's: the
// role cannot be assumed from there, and every account would fail.
func (f *fleetFlags) checkRolePartition() error {
	name := f.ExecutionRole
	if !strings.HasPrefix(name, "arn:") || f.targets.Region == "" {
		return nil
	}
	part, _ := validate.Region(f.targets.Region) // checked by filter
	if p := strings.SplitN(name, ":", 3)[1]; p != "{partition}" && p != part {
		return usagef("--execution-role %q: the ARN is in partition %s, but --region %s is in %s: write arn:%s:... or arn:{partition}:...", name, p, f.targets.Region, part, part)
	}
	return nil
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
// With a KMS secrets provider there is none to read: "".
func (f *fleetFlags) passphrase() (string, error) {
	if p, err := rollout.ParseSecretsProvider(f.SecretsProvider); err != nil {
		return "", asUsage(err)
	} else if p.KMS() {
		return "", nil
	}
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
	b, err := inputfile.ReadFile(file)
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
