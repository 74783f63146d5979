// Package access gets the rollout into each target account: it names the execution role to
// assume there, assumes it through STS, and proves access with a preflight before anything is
// deployed.
package access

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// DefaultRoleName is the role AWS Organizations creates in every account it creates.
const DefaultRoleName = "OrganizationAccountAccessRole"

// ExecutionRole is the role the rollout assumes in each account to deploy there.
type ExecutionRole struct {
	// NameOrTemplate is a role name (OrganizationAccountAccessRole, AWSControlTowerExecution,
	// or a path/name) or an ARN template with {account} and optionally {partition}.
	NameOrTemplate string
	// ExternalID is passed to AssumeRole when the execution role requires one.
	ExternalID string
	// SessionName shows up in CloudTrail; default byoc-access-<account>.
	SessionName string
	// Duration of the assumed session; default one hour.
	Duration time.Duration
	// Partition of the accounts; default aws.
	Partition string
}

var (
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@/-]{1,64}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Validate checks the role settings before any account is touched.
func (r ExecutionRole) Validate() error {
	name := r.nameOrDefault()
	if strings.HasPrefix(name, "arn:") {
		if !strings.Contains(name, "{account}") {
			return fmt.Errorf("--execution-role %q: an ARN template must contain {account}, e.g. arn:aws:iam::{account}:role/Deployer", name)
		}
		if !strings.Contains(name, ":role/") {
			return fmt.Errorf("--execution-role %q: the ARN must name a role (…:role/NAME)", name)
		}
	} else if !roleNamePattern.MatchString(name) {
		return fmt.Errorf("--execution-role %q: a role name is 1 to 64 characters of letters, digits and +=,.@-_", name)
	}
	if r.ExternalID != "" {
		if err := vendors.ValidateExternalID(r.ExternalID); err != nil {
			return fmt.Errorf("--execution-external-id: %w", err)
		}
	}
	if r.SessionName != "" && !sessionNamePattern.MatchString(r.SessionName) {
		return fmt.Errorf("--session-name %q: 2 to 64 characters of letters, digits and +=,.@-_", r.SessionName)
	}
	if r.Duration != 0 && (r.Duration < 15*time.Minute || r.Duration > 12*time.Hour) {
		return fmt.Errorf("session duration %s: STS allows 15m to 12h", r.Duration)
	}
	return nil
}

func (r ExecutionRole) nameOrDefault() string {
	if r.NameOrTemplate == "" {
		return DefaultRoleName
	}
	return r.NameOrTemplate
}

// RoleARN is the execution role's ARN in one account.
func (r ExecutionRole) RoleARN(partition, accountID string) string {
	if partition == "" {
		partition = "aws"
	}
	name := r.nameOrDefault()
	if strings.HasPrefix(name, "arn:") {
		return strings.NewReplacer("{account}", accountID, "{partition}", partition).Replace(name)
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, accountID, strings.TrimPrefix(name, "/"))
}

// Session is the session name for one account.
func (r ExecutionRole) Session(accountID string) string {
	if r.SessionName != "" {
		return r.SessionName
	}
	return "byoc-access-" + accountID
}

// STS is the part of STS the access code calls; *sts.Client satisfies it.
type STS interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// MaxAttempts is how often an AWS call is tried before its error counts: throttling is normal
// when thousands of accounts are read, so retries are deliberately generous.
const MaxAttempts = 8

// NewAWSConfig loads the default credential chain (env, profiles, SSO, IMDS; AWS_ENDPOINT_URL
// for emulators) with the standard retryer in adaptive mode, which also rate-limits the
// client when AWS throttles.
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

// Credentials returns a config for the account: the base config with credentials that assume
// the execution role there (cached and refreshed by the SDK).
func (r ExecutionRole) Credentials(base aws.Config, client STS, partition, accountID string) aws.Config {
	cfg := base.Copy()
	provider := stscreds.NewAssumeRoleProvider(client, r.RoleARN(partition, accountID), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.Session(accountID)
		if r.ExternalID != "" {
			o.ExternalID = aws.String(r.ExternalID)
		}
		if r.Duration != 0 {
			o.Duration = r.Duration
		}
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	return cfg
}

// Preflight assumes the execution role in every account and calls GetCallerIdentity with the
// result, so access problems show before any deploy. It returns the error of each account that
// failed; an account absent from the map is reachable.
func Preflight(ctx context.Context, base aws.Config, client STS, r ExecutionRole, accounts []targets.Account, parallel int) map[string]error {
	if parallel < 1 {
		parallel = 1
	}
	var mu sync.Mutex
	failed := map[string]error{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for _, a := range accounts {
		g.Go(func() error {
			err := Check(ctx, base, client, r, r.Partition, a.ID)
			if err != nil {
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

// Check proves access to one account.
func Check(ctx context.Context, base aws.Config, client STS, r ExecutionRole, partition, accountID string) error {
	cfg := r.Credentials(base, client, partition, accountID)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return &AssumeRoleError{AccountID: accountID, RoleARN: r.RoleARN(partition, accountID), Err: err}
	}
	if got := aws.ToString(id.Account); got != accountID {
		return &AssumeRoleError{AccountID: accountID, RoleARN: r.RoleARN(partition, accountID),
			Err: fmt.Errorf("the assumed role acts in account %s, not %s: check --execution-role", got, accountID)}
	}
	return nil
}

// AssumeRoleError is a failure to get into an account.
type AssumeRoleError struct {
	AccountID string
	RoleARN   string
	Err       error
}

func (e *AssumeRoleError) Error() string {
	return fmt.Sprintf("account %s: assume role %s: %s", e.AccountID, e.RoleARN, Reason(e.Err))
}

func (e *AssumeRoleError) Unwrap() error { return e.Err }

// Reason is the one line of an AWS error a person needs: the API's code and message, without
// the SDK's request IDs and retry chatter.
func Reason(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// IsAssumeRoleError reports whether err is a failure to get into an account.
func IsAssumeRoleError(err error) bool {
	var e *AssumeRoleError
	return errors.As(err, &e)
}

// IsAccessDenied reports whether AWS refused the call for lack of permission.
func IsAccessDenied(err error) bool {
	return hasCode(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "InvalidClientTokenId")
}

// IsThrottled reports whether AWS throttled the call (after the SDK's own retries).
func IsThrottled(err error) bool {
	return hasCode(err, "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled")
}

func hasCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}
