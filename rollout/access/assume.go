package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// STS is the part of STS the access code calls, narrow so that tests can fake it;
// *sts.Client satisfies it.
type STS interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// MaxAttempts is how often an AWS call is tried before its error counts: throttling is normal
// when thousands of accounts are read, so retries are deliberately generous.
const MaxAttempts = 8

// NewAWSConfig loads the SDK's default configuration (environment, profiles, SSO, IMDS;
// AWS_ENDPOINT_URL for emulators) with the standard retryer, MaxAttempts tries and adaptive
// mode, which also slows the client down when AWS throttles it. region "" keeps the SDK's
// own choice; optFns come last and so win.
func NewAWSConfig(ctx context.Context, region string, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = MaxAttempts
					so.MaxBackoff = 20 * time.Second
				})
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, optFns...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// provider is the SDK's assume-role credentials provider for one account.
func (r ExecutionRole) provider(client STS, accountID string) *stscreds.AssumeRoleProvider {
	return stscreds.NewAssumeRoleProvider(client, r.RoleARN(r.Partition, accountID), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.Session(accountID)
		if r.ExternalID != "" {
			o.ExternalID = aws.String(r.ExternalID)
		}
		if r.Duration != 0 {
			o.Duration = r.Duration
		}
	})
}

// Credentials returns a config for the account: the base config with credentials that assume
// the execution role there, which the SDK caches and refreshes before they expire.
func (r ExecutionRole) Credentials(base aws.Config, client STS, partition, accountID string) aws.Config {
	r.Partition = partition
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(r.provider(client, accountID))
	return cfg
}

// AssumeRole assumes the execution role in one account once and returns the temporary
// credentials, for callers that hand them to another process; errors are *AssumeRoleError.
func AssumeRole(ctx context.Context, client STS, role ExecutionRole, accountID string) (aws.Credentials, error) {
	creds, err := role.provider(client, accountID).Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, &AssumeRoleError{AccountID: accountID, RoleARN: role.RoleARN(role.Partition, accountID), Err: err}
	}
	return creds, nil
}

// Check proves access to one account: it assumes the execution role and calls
// GetCallerIdentity with the result (which needs no permission, so it tests the credentials
// alone). Both calls go through client; the second with the assumed credentials.
func Check(ctx context.Context, client STS, role ExecutionRole, accountID string) error {
	creds, err := AssumeRole(ctx, client, role, accountID)
	if err != nil {
		return err
	}
	roleARN := role.RoleARN(role.Partition, accountID)
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	})
	if err != nil {
		return &AssumeRoleError{AccountID: accountID, RoleARN: roleARN, Err: &stepError{step: "the assumed credentials do not work", err: err}}
	}
	if got := aws.ToString(id.Account); got != accountID {
		return &AssumeRoleError{AccountID: accountID, RoleARN: roleARN,
			Err: fmt.Errorf("the assumed role acts in account %s, not %s: check --execution-role", got, accountID)}
	}
	return nil
}

// Preflight proves access to every account (Check) with at most parallel accounts at a time,
// so access problems show before any deploy. One account's failure does not stop the others.
// It returns the error of each account that failed; an account absent from the map is
// reachable. client may be nil: an STS client from base is used then.
func Preflight(ctx context.Context, base aws.Config, client STS, role ExecutionRole, accounts []targets.Account, parallel int) map[string]error {
	if client == nil {
		client = sts.NewFromConfig(base)
	}
	if parallel < 1 {
		parallel = 1
	}
	var mu sync.Mutex
	failed := map[string]error{}
	var g errgroup.Group
	g.SetLimit(parallel)
	for _, a := range accounts {
		g.Go(func() error {
			if err := Check(ctx, client, role, a.ID); err != nil {
				mu.Lock()
				failed[a.ID] = err
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return failed
}
