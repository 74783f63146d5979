package rollout

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/rollout/access"
)

// Options control a run; set them with the Option functions, in the style of auto's optup.
type Options struct {
	// Parallel is how many accounts are worked on at once.
	Parallel int
	// MaxFailures is the failure tolerance: past it, no new account is started.
	MaxFailures FailureTolerance
	// Timeout bounds each account's operation; zero means none.
	Timeout time.Duration
	// Retries is how many times a retryable failure (throttling, a transient engine error,
	// a held lock when WaitLock is set) is tried again, with exponential backoff.
	Retries int
	// WaitLock makes a stack locked by another run wait and retry instead of failing.
	WaitLock bool
	// Backend is the state backend URL: file://..., s3://..., or https://api.pulumi.com.
	Backend string
	// Passphrase encrypts the stacks' secrets; it is passed to the CLI through its
	// environment only, never on a command line or in a log.
	Passphrase string
	// SecretsProvider is "passphrase" (or "", the default) or an awskms:// URL naming an AWS
	// KMS key that encrypts the stacks' secrets instead; then no passphrase is used.
	SecretsProvider string
	// StackPrefix goes before the account ID in stack names.
	StackPrefix string
	// Region is the AWS provider's region.
	Region string
	// ExecutionRole is assumed in each account, first in the preflight, then by the provider.
	ExecutionRole access.ExecutionRole
	// AWS is the base SDK config (the organization's credentials): the preflight assumes the
	// execution role in every account with it, and adoption reads each account's existing
	// resources with it. Nil turns both off.
	AWS *aws.Config
	// SkipPreflight skips the AssumeRole check of every account, but not adoption's reads.
	SkipPreflight bool
	// RemoveStacks removes each stack after a successful destroy.
	RemoveStacks bool
	// RunDir receives per-account engine logs and the report files.
	RunDir string
	// Env is extra environment for the CLI, e.g. AWS settings for an s3:// backend.
	Env map[string]string
	// OnEvent receives progress events; it must not block.
	OnEvent func(Event)
	// Pulumi is the CLI shared by every workspace; found once when nil.
	Pulumi auto.PulumiCommand
	// Backoff is the first retry delay; it doubles each time, with jitter, up to 30s.
	Backoff time.Duration
	// Adopt imports resources that already exist with the program's names instead of failing.
	Adopt bool
	// Force updates accounts whose fingerprint is unchanged.
	Force bool
	// Refresh refreshes each stack from the cloud before updating (and so never skips).
	Refresh bool
	// ProviderPerAccount makes the CLI start its own AWS provider for every account's
	// operation, instead of attaching to one provider per worker (providers.go).
	ProviderPerAccount bool
	// Organization, when set, is asked again about each account right before it is worked
	// on, so an account that left the organization or was suspended since discovery fails
	// with that reason instead of an obscure error.
	Organization AccountChecker
}

// AccountChecker reports an account's current status in the organization; *organizations.Client
// satisfies it.
type AccountChecker interface {
	DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, optFns ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
}

// RecheckAccounts asks the organization about each account again before working on it.
func RecheckAccounts(c AccountChecker) Option { return func(o *Options) { o.Organization = c } }

// Option sets one of the Options.
type Option func(*Options)

// Parallel sets how many accounts are worked on at once.
func Parallel(n int) Option { return func(o *Options) { o.Parallel = n } }

// MaxFailures sets the failure tolerance.
func MaxFailures(t FailureTolerance) Option { return func(o *Options) { o.MaxFailures = t } }

// Timeout bounds each account's operation.
func Timeout(d time.Duration) Option { return func(o *Options) { o.Timeout = d } }

// Retries sets how many times a retryable failure is retried.
func Retries(n int) Option { return func(o *Options) { o.Retries = n } }

// WaitLock makes locked stacks wait and retry.
func WaitLock(wait bool) Option { return func(o *Options) { o.WaitLock = wait } }

// Backend sets the state backend URL.
func Backend(url string) Option { return func(o *Options) { o.Backend = url } }

// Passphrase sets the secrets passphrase.
func Passphrase(p string) Option { return func(o *Options) { o.Passphrase = p } }

// SecretsProviderURL sets the stacks' secrets provider: "passphrase" (the default) or an
// awskms:// URL, checked by ParseSecretsProvider.
func SecretsProviderURL(url string) Option { return func(o *Options) { o.SecretsProvider = url } }

// StackPrefix sets the prefix of stack names.
func StackPrefix(p string) Option { return func(o *Options) { o.StackPrefix = p } }

// Region sets the AWS provider's region.
func Region(r string) Option { return func(o *Options) { o.Region = r } }

// ExecutionRole sets the role assumed in each account.
func ExecutionRole(r access.ExecutionRole) Option { return func(o *Options) { o.ExecutionRole = r } }

// Preflight sets the base SDK config, for the AssumeRole check of every account before any
// stack is touched and for adoption's reads (see Options.AWS).
func Preflight(cfg aws.Config) Option { return func(o *Options) { o.AWS = &cfg } }

// SkipPreflight skips the AssumeRole check; adoption still reads accounts with the config
// Preflight set.
func SkipPreflight(skip bool) Option { return func(o *Options) { o.SkipPreflight = skip } }

// RemoveStacks removes stacks after destroy.
func RemoveStacks(remove bool) Option { return func(o *Options) { o.RemoveStacks = remove } }

// RunDir sets where logs and reports go.
func RunDir(dir string) Option { return func(o *Options) { o.RunDir = dir } }

// Env adds environment for the CLI.
func Env(env map[string]string) Option { return func(o *Options) { o.Env = env } }

// OnEvent sets the progress event sink.
func OnEvent(f func(Event)) Option { return func(o *Options) { o.OnEvent = f } }

// PulumiCommand shares one CLI across every workspace.
func PulumiCommand(cmd auto.PulumiCommand) Option { return func(o *Options) { o.Pulumi = cmd } }

// Adopt imports existing resources into new stacks (see Deployment.Existing).
func Adopt(adopt bool) Option { return func(o *Options) { o.Adopt = adopt } }

// Force updates every account, even those whose fingerprint is unchanged.
func Force(force bool) Option { return func(o *Options) { o.Force = force } }

// Refresh refreshes each stack before updating it.
func Refresh(refresh bool) Option { return func(o *Options) { o.Refresh = refresh } }

// Backoff sets the first retry delay.
func Backoff(d time.Duration) Option { return func(o *Options) { o.Backoff = d } }

// ProviderPerAccount turns off the per-worker AWS provider: the CLI starts one per account's
// operation, as it does on its own. Slower; for a provider that cannot be attached to.
func ProviderPerAccount(on bool) Option { return func(o *Options) { o.ProviderPerAccount = on } }

// FailureTolerance is how many accounts may fail before no new account is started: a count,
// or a percentage of the targets. The zero value tolerates none.
type FailureTolerance struct {
	// Count is the number of failures tolerated, unless IsPercent or Unlimited.
	Count int
	// Percent is the share of the targets, 0 to 100, that may fail when IsPercent.
	Percent float64
	// IsPercent says Percent applies rather than Count.
	IsPercent bool
	// Unlimited tolerates every failure.
	Unlimited bool
}

// Unlimited tolerates any number of failures: every account is attempted.
var Unlimited = FailureTolerance{Unlimited: true}

// ParseFailureTolerance reads "N" or "P%"; an empty string means Unlimited.
func ParseFailureTolerance(s string) (FailureTolerance, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Unlimited, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 100 {
			return FailureTolerance{}, fmt.Errorf("--max-failures %q: want a count such as 3 or a percentage from 0%% to 100%% such as 10%%", s)
		}
		return FailureTolerance{Percent: f, IsPercent: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return FailureTolerance{}, fmt.Errorf("--max-failures %q: want a count such as 3 or a percentage such as 10%%", s)
	}
	return FailureTolerance{Count: n}, nil
}

// Limit is the number of failures tolerated among total accounts.
func (f FailureTolerance) Limit(total int) int {
	switch {
	case f.Unlimited:
		return math.MaxInt
	case f.IsPercent:
		return int(math.Floor(f.Percent / 100 * float64(total)))
	default:
		return f.Count
	}
}

// String is the tolerance as the user writes it: "3", "10%" or "unlimited".
func (f FailureTolerance) String() string {
	switch {
	case f.Unlimited:
		return "unlimited"
	case f.IsPercent:
		return strconv.FormatFloat(f.Percent, 'f', -1, 64) + "%"
	default:
		return strconv.Itoa(f.Count)
	}
}
