// Package access gets the rollout into each target account: it names the execution role to
// assume there, assumes it through STS, and proves access with a preflight before anything is
// deployed.
package access

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// DefaultRoleName is the role AWS Organizations creates in every account it creates, and so
// the one most organizations can assume without setting anything up.
const DefaultRoleName = "OrganizationAccountAccessRole"

// ExecutionRole is the role the rollout assumes in each account to deploy there.
type ExecutionRole struct {
	// NameOrTemplate is a role name (OrganizationAccountAccessRole, the default;
	// AWSControlTowerExecution; or path/name) or an ARN template with {account} and
	// optionally {partition}: arn:{partition}:iam::{account}:role/byoc/Deployer.
	NameOrTemplate string
	// ExternalID is passed to AssumeRole when the execution role's trust policy requires one.
	ExternalID string
	// SessionName shows up in CloudTrail in the target account, so an auditor can tell this
	// tool's actions from a person's; default byoc-access-<account>. {account} is replaced.
	SessionName string
	// Duration of the assumed session; default the SDK's 15 minutes, refreshed as needed.
	Duration time.Duration
	// Partition of the accounts (aws, aws-us-gov, aws-cn); default aws.
	Partition string
}

var (
	// IAM: a role name is 1-64 of these; a path is /-separated segments of them.
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathPattern    = regexp.MustCompile(`^[\w+=,.@/-]{0,510}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	placeholderPattern = regexp.MustCompile(`\{[^}]*\}`)
	partitionPattern   = regexp.MustCompile(`^aws(-[a-z]+)*$`)
)

// sampleAccount stands in for a real account when a template is checked.
const sampleAccount = "111122223333"

// Validate checks the role settings, so that a bad flag fails before any account is touched.
func (r ExecutionRole) Validate() error {
	name := r.nameOrDefault()
	if err := validateRole(name); err != nil {
		return fmt.Errorf("--execution-role %q: %w", name, err)
	}
	if r.ExternalID != "" {
		if err := vendors.ValidateExternalID(r.ExternalID); err != nil {
			return fmt.Errorf("--execution-external-id: %w", err)
		}
	}
	if r.SessionName != "" {
		if s := r.Session(sampleAccount); !sessionNamePattern.MatchString(s) {
			return fmt.Errorf("--session-name %q: STS allows 2 to 64 characters of letters, digits and +=,.@-_ (with {account} as 12 digits)", r.SessionName)
		}
	}
	if r.Duration != 0 && (r.Duration < 15*time.Minute || r.Duration > 12*time.Hour) {
		return fmt.Errorf("session duration %s: STS allows 15m to 12h", r.Duration)
	}
	if p := r.Partition; p != "" && !partitionPattern.MatchString(p) {
		return fmt.Errorf("partition %q: want aws, aws-us-gov, aws-cn...", p)
	}
	return nil
}

func validateRole(name string) error {
	for _, ph := range placeholderPattern.FindAllString(name, -1) {
		if ph != "{account}" && ph != "{partition}" {
			return fmt.Errorf("unknown placeholder %s: a template may use {account} and {partition}", ph)
		}
	}
	if !strings.HasPrefix(name, "arn:") {
		if strings.Contains(name, "{") {
			return errors.New("a role name has no placeholders; an ARN template starts with arn:, e.g. arn:aws:iam::{account}:role/Deployer")
		}
		return validateRoleName(strings.TrimPrefix(name, "/"))
	}
	if !strings.Contains(name, "{account}") {
		return errors.New("an ARN template must contain {account}, e.g. arn:aws:iam::{account}:role/Deployer")
	}
	parsed, err := arn.Parse(ExecutionRole{NameOrTemplate: name}.RoleARN("aws", sampleAccount))
	if err != nil {
		return fmt.Errorf("not an ARN: %w", err)
	}
	if parsed.Service != "iam" || !strings.HasPrefix(parsed.Resource, "role/") {
		return errors.New("the ARN must name a role (arn:aws:iam::{account}:role/NAME)")
	}
	if fields := strings.SplitN(name, ":", 6); len(fields) < 6 || fields[4] != "{account}" || parsed.AccountID != sampleAccount {
		return errors.New("{account} must be the ARN's account field (arn:aws:iam::{account}:role/NAME)")
	}
	return validateRoleName(strings.TrimPrefix(parsed.Resource, "role/"))
}

// validateRoleName checks "name" or "path/name" against IAM's rules.
func validateRoleName(pathName string) error {
	path, name := "", pathName
	if i := strings.LastIndex(pathName, "/"); i >= 0 {
		path, name = pathName[:i], pathName[i+1:]
	}
	if !roleNamePattern.MatchString(name) {
		return errors.New("a role name is 1 to 64 characters of letters, digits and +=,.@-_")
	}
	if path != "" && (!rolePathPattern.MatchString(path) || slices.Contains(strings.Split(path, "/"), "")) {
		return errors.New("a role path is /-separated names of letters, digits and +=,.@-_")
	}
	return nil
}

func (r ExecutionRole) nameOrDefault() string {
	if r.NameOrTemplate == "" {
		return DefaultRoleName
	}
	return r.NameOrTemplate
}

// RoleARN is the execution role's ARN in one account (partition "" means aws).
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

// Session is the session name for one account, as CloudTrail will show it.
func (r ExecutionRole) Session(accountID string) string {
	if r.SessionName != "" {
		return strings.ReplaceAll(r.SessionName, "{account}", accountID)
	}
	return "byoc-access-" + accountID
}

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

// AssumeRoleError is a failure to get into an account, so reports can tell access problems
// from deploy failures and name the role that was tried.
type AssumeRoleError struct {
	// AccountID is the account that could not be entered.
	AccountID string
	// RoleARN is the role that was tried there.
	RoleARN string
	// Err is the SDK's error, kept for errors.As (smithy.APIError) and the predicates.
	Err error
}

// Error says which account, which role, and AWS's reason in one line.
func (e *AssumeRoleError) Error() string {
	return fmt.Sprintf("account %s: assume role %s: %s", e.AccountID, e.RoleARN, Reason(e.Err))
}

// Unwrap exposes the SDK's error, so IsAccessDenied and IsThrottled see through.
func (e *AssumeRoleError) Unwrap() error { return e.Err }

// stepError says which step of getting into an account failed, when it was not AssumeRole.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// Reason is the one line of an AWS error a person needs: the API's code and message, without
// the SDK's request IDs and retry chatter.
func Reason(err error) string {
	if s, ok := err.(*stepError); ok {
		return s.step + ": " + Reason(s.err)
	}
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

// IsAccessDenied reports whether AWS refused the call for lack of permission (or refused the
// credentials), which retrying will not fix.
func IsAccessDenied(err error) bool {
	return hasCode(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "InvalidClientTokenId")
}

// IsThrottled reports whether AWS throttled the call even after the SDK's retries: the error
// codes are the ones the SDK's retryer treats as throttling.
func IsThrottled(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[api.ErrorCode()]
	return ok
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
