package access_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func TestRoleARNAndValidation(t *testing.T) {
	t.Parallel()
	const acct = "111122223333"
	tests := []struct {
		name      string
		role      access.ExecutionRole
		partition string
		want      string
		wantErr   string
	}{
		{name: "default", want: "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"},
		{name: "control tower", role: access.ExecutionRole{NameOrTemplate: "AWSControlTowerExecution"}, want: "arn:aws:iam::111122223333:role/AWSControlTowerExecution"},
		{name: "name with path", role: access.ExecutionRole{NameOrTemplate: "ops/Deployer"}, want: "arn:aws:iam::111122223333:role/ops/Deployer"},
		{name: "name in GovCloud", role: access.ExecutionRole{NameOrTemplate: "Deployer"}, partition: "aws-us-gov", want: "arn:aws-us-gov:iam::111122223333:role/Deployer"},
		{name: "template", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::{account}:role/byoc/Deployer"}, want: "arn:aws:iam::111122223333:role/byoc/Deployer"},
		{name: "template with partition", role: access.ExecutionRole{NameOrTemplate: "arn:{partition}:iam::{account}:role/Deployer"}, partition: "aws-cn", want: "arn:aws-cn:iam::111122223333:role/Deployer"},
		{name: "template without account", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::111122223333:role/Fixed"}, wantErr: "must contain {account}"},
		{name: "template of a user", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::{account}:user/x"}, wantErr: "must name a role"},
		{name: "template of another service", role: access.ExecutionRole{NameOrTemplate: "arn:aws:s3:::{account}"}, wantErr: "must name a role"},
		{name: "account in the wrong field", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::111122223333:role/{account}"}, wantErr: "{account} must be the ARN's account field"},
		{name: "misspelt placeholder", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::{acount}:role/x"}, wantErr: "unknown placeholder {acount}"},
		{name: "placeholder in a name", role: access.ExecutionRole{NameOrTemplate: "{account}-deployer"}, wantErr: "an ARN template starts with arn:"},
		{name: "template with a bad role name", role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::{account}:role/bad name"}, wantErr: "1 to 64 characters"},
		{name: "space in name", role: access.ExecutionRole{NameOrTemplate: "bad role"}, wantErr: "1 to 64 characters"},
		{name: "name too long", role: access.ExecutionRole{NameOrTemplate: strings.Repeat("r", 65)}, wantErr: "1 to 64 characters"},
		{name: "empty path segment", role: access.ExecutionRole{NameOrTemplate: "ops//Deployer"}, wantErr: "a role path"},
		{name: "session name too short", role: access.ExecutionRole{SessionName: "x"}, wantErr: "--session-name"},
		{name: "session name with a space", role: access.ExecutionRole{SessionName: "byoc access"}, wantErr: "--session-name"},
		{name: "session name too long with account", role: access.ExecutionRole{SessionName: strings.Repeat("s", 53) + "{account}"}, wantErr: "--session-name"},
		{name: "session name template", role: access.ExecutionRole{SessionName: "vendor-{account}"}, want: "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"},
		{name: "external ID too short", role: access.ExecutionRole{ExternalID: "a"}, wantErr: "--execution-external-id"},
		{name: "duration too short", role: access.ExecutionRole{Duration: time.Minute}, wantErr: "15m to 12h"},
		{name: "duration too long", role: access.ExecutionRole{Duration: 13 * time.Hour}, wantErr: "15m to 12h"},
		{name: "bad partition", role: access.ExecutionRole{Partition: "AWS"}, wantErr: "partition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.role.Validate()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, tt.role.RoleARN(tt.partition, acct))
		})
	}
	require.Equal(t, "byoc-access-111122223333", access.ExecutionRole{}.Session(acct))
	require.Equal(t, "vendor-111122223333", access.ExecutionRole{SessionName: "vendor-{account}"}.Session(acct))
	require.Equal(t, "fixed", access.ExecutionRole{SessionName: "fixed"}.Session(acct))
}

// denyOneAccount is the policy of the IAM user the moto tests act as: it may assume roles
// anywhere but in one account.
const denyOneAccount = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
 {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::%s:role/*"}]}`

// TestPreflightAgainstMoto has moto itself deny AssumeRole into one account (IAM enforced, a
// Deny in the caller's policy) and checks that only that account fails, while the others are
// assumed and proven with GetCallerIdentity under moto's signature and policy checks.
//
// moto 5.2 writes its IAM-enforcement errors as <ErrorResponse><Errors><Error>, which the Go
// SDK's query-protocol parser does not read (it wants <ErrorResponse><Error>): the code comes
// out as UnknownError and only the HTTP status says 403. TestPreflightAccessDenied checks the
// code with a well-formed AccessDenied.
func TestPreflightAgainstMoto(t *testing.T) {
	t.Parallel()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	const denied = "333333333333"
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: denied}, {ID: "444444444444"}, {ID: "555555555555"}}
	cfg := m.UserConfig(t, "deployer", fmt.Sprintf(denyOneAccount, denied))
	m.EnforceIAM(t)
	client := sts.NewFromConfig(cfg)
	role := access.ExecutionRole{ExternalID: "deploy-ext-1"}

	failed := access.Preflight(context.Background(), cfg, client, role, accounts, 3)
	require.Len(t, failed, 1, "only the denied account fails: %v", failed)
	err := failed[denied]
	require.True(t, access.IsAssumeRoleError(err))
	require.ErrorContains(t, err, "account 333333333333: assume role arn:aws:iam::333333333333:role/OrganizationAccountAccessRole: ")
	var resp *awshttp.ResponseError
	require.ErrorAs(t, err, &resp)
	require.Equal(t, http.StatusForbidden, resp.HTTPStatusCode())

	// A nil client means an STS client from the base config.
	require.Len(t, access.Preflight(context.Background(), cfg, nil, role, accounts, 2), 1)

	// The assumed credentials act in the member account, under the session name.
	creds, err := access.AssumeRole(context.Background(), client, role, "222222222222")
	require.NoError(t, err)
	require.NotEmpty(t, creds.SessionToken)
	require.True(t, creds.CanExpire)
	id, err := sts.NewFromConfig(m.ConfigFor(t, credentials(creds))).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "222222222222", aws.ToString(id.Account))
	require.Equal(t, "arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/byoc-access-222222222222", aws.ToString(id.Arn),
		"the session name shows in CloudTrail")

	_, err = access.AssumeRole(context.Background(), client, role, denied)
	require.True(t, access.IsAssumeRoleError(err))

	// Credentials gives a config whose calls act in the account.
	acct := role.Credentials(cfg, client, "aws", "444444444444")
	id, err = sts.NewFromConfig(acct).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "444444444444", aws.ToString(id.Account))
}

func credentials(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// TestPreflightAccessDenied: a well-formed AccessDenied from STS (as AWS sends it; here from
// the fault proxy in front of moto) fails that account alone, and reads as access denied.
func TestPreflightAccessDenied(t *testing.T) {
	t.Parallel()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	const denied = "333333333333"
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" && strings.Contains(c.Params.Get("RoleArn"), denied) {
			return testenv.AccessDenied
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: denied}, {ID: "444444444444"}}
	failed := access.Preflight(context.Background(), cfg, sts.NewFromConfig(cfg), access.ExecutionRole{}, accounts, 3)
	require.Len(t, failed, 1)
	err := failed[denied]
	require.True(t, access.IsAssumeRoleError(err))
	require.True(t, access.IsAccessDenied(err))
	require.False(t, access.IsThrottled(err))
	require.Equal(t, "account 333333333333: assume role arn:aws:iam::333333333333:role/OrganizationAccountAccessRole: "+
		"AccessDenied: User is not authorized to perform: sts:AssumeRole", err.Error())
	require.Equal(t, int64(1), proxy.Injected(), "access denied is not retried")
}

// TestAssumeRoleSendsTheRoleSettings reads the AssumeRole request on the wire: moto ignores
// the external ID, so only the request can show it was sent.
func TestAssumeRoleSendsTheRoleSettings(t *testing.T) {
	t.Parallel()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	var mu sync.Mutex
	var seen []testenv.Call
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)
	role := access.ExecutionRole{NameOrTemplate: "arn:{partition}:iam::{account}:role/byoc/Deployer", ExternalID: "deploy-ext-1",
		SessionName: "vendor-x-{account}", Duration: time.Hour}
	_, err := access.AssumeRole(context.Background(), sts.NewFromConfig(cfg), role, "111111111111")
	require.NoError(t, err)
	require.Len(t, seen, 1)
	p := seen[0].Params
	require.Equal(t, "arn:aws:iam::111111111111:role/byoc/Deployer", p.Get("RoleArn"))
	require.Equal(t, "deploy-ext-1", p.Get("ExternalId"))
	require.Equal(t, "vendor-x-111111111111", p.Get("RoleSessionName"))
	require.Equal(t, "3600", p.Get("DurationSeconds"))
}

func TestPreflightRetriesThrottling(t *testing.T) {
	t.Parallel()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	var n atomic.Int64
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" && n.Add(1)%2 == 1 {
			return testenv.Throttled
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	failed := access.Preflight(context.Background(), cfg, sts.NewFromConfig(cfg), access.ExecutionRole{}, accounts, 1)
	require.Empty(t, failed, "throttled calls are retried by the SDK's retryer")
	require.Positive(t, proxy.Injected())
}

// fakeSTS answers from tables, so Preflight's failure isolation and bookkeeping can be
// checked without a server.
type fakeSTS struct {
	assumeErr   map[string]error  // by account
	actsIn      map[string]string // account the assumed credentials act in, when not the target
	identityErr map[string]error

	mu                sync.Mutex
	inFlight, maxSeen int
	assumed           []string
}

func accountOf(roleARN string) string { return strings.Split(roleARN, ":")[4] }

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.assumed = append(f.assumed, aws.ToString(in.RoleArn))
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	acct := accountOf(aws.ToString(in.RoleArn))
	if err := f.assumeErr[acct]; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &types.Credentials{
		AccessKeyId: aws.String("ASIA" + acct), SecretAccessKey: aws.String("secret"), SessionToken: aws.String("token"), Expiration: &exp,
	}}, nil
}

func (f *fakeSTS) GetCallerIdentity(ctx context.Context, _ *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	var o sts.Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Credentials == nil {
		return nil, errors.New("GetCallerIdentity was called without the assumed credentials")
	}
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	acct := strings.TrimPrefix(creds.AccessKeyID, "ASIA")
	if err := f.identityErr[acct]; err != nil {
		return nil, err
	}
	if other, ok := f.actsIn[acct]; ok {
		acct = other
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(acct)}, nil
}

func apiError(code, msg string) error {
	return &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

func TestPreflightIsolatesFailures(t *testing.T) {
	t.Parallel()
	var accounts []targets.Account
	for i := 1; i <= 20; i++ {
		accounts = append(accounts, targets.Account{ID: fmt.Sprintf("%012d", i)})
	}
	fake := &fakeSTS{
		assumeErr: map[string]error{
			"000000000003": apiError("AccessDenied", "not authorized to perform sts:AssumeRole"),
			"000000000007": apiError("ThrottlingException", "Rate exceeded"),
		},
		actsIn:      map[string]string{"000000000011": "999999999999"},
		identityErr: map[string]error{"000000000015": apiError("ExpiredToken", "The security token included in the request is expired")},
	}
	failed := access.Preflight(context.Background(), aws.Config{}, fake, access.ExecutionRole{}, accounts, 4)

	require.Len(t, failed, 4, "one account's failure does not stop the others: %v", failed)
	require.True(t, access.IsAccessDenied(failed["000000000003"]))
	require.True(t, access.IsThrottled(failed["000000000007"]))
	require.ErrorContains(t, failed["000000000011"], "acts in account 999999999999, not 000000000011")
	require.ErrorContains(t, failed["000000000015"], "the assumed credentials do not work: ExpiredToken")
	require.ErrorContains(t, failed["000000000015"], "ExpiredToken")
	for _, err := range failed {
		require.True(t, access.IsAssumeRoleError(err))
	}
	require.Len(t, fake.assumed, 20, "every account was tried")
	require.LessOrEqual(t, fake.maxSeen, 4, "at most parallel accounts at a time")
	require.Greater(t, fake.maxSeen, 1, "accounts are checked concurrently")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	failed = access.Preflight(ctx, aws.Config{}, &fakeSTS{}, access.ExecutionRole{}, accounts[:3], 0)
	require.Len(t, failed, 3, "a cancelled preflight proves nothing")
	require.ErrorIs(t, failed[accounts[0].ID], context.Canceled)
}

func TestErrorPredicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err                      error
		denied, throttled, assum bool
	}{
		{err: apiError("AccessDenied", "x"), denied: true},
		{err: apiError("AccessDeniedException", "x"), denied: true},
		{err: apiError("InvalidClientTokenId", "x"), denied: true},
		{err: apiError("ThrottlingException", "x"), throttled: true},
		{err: apiError("Throttling", "x"), throttled: true},
		{err: apiError("TooManyRequestsException", "x"), throttled: true},
		{err: apiError("RequestLimitExceeded", "x"), throttled: true},
		{err: &retry.MaxAttemptsError{Attempt: 8, Err: apiError("TooManyRequestsException", "x")}, throttled: true},
		{err: apiError("ValidationError", "x")},
		{err: errors.New("AccessDenied in plain text is not an API error")},
		{err: nil},
		{err: &access.AssumeRoleError{AccountID: "111111111111", Err: apiError("AccessDenied", "x")}, denied: true, assum: true},
		{err: fmt.Errorf("wrapped: %w", &access.AssumeRoleError{AccountID: "111111111111", Err: apiError("Throttling", "x")}), throttled: true, assum: true},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.err != nil {
			name = tt.err.Error()
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tt.denied, access.IsAccessDenied(tt.err))
			require.Equal(t, tt.throttled, access.IsThrottled(tt.err))
			require.Equal(t, tt.assum, access.IsAssumeRoleError(tt.err))
		})
	}
	require.Equal(t, "AccessDenied: no", access.Reason(apiError("AccessDenied", "no")))
}

// TestNewAWSConfig: the SDK itself reads AWS_ENDPOINT_URL and the credentials from the
// environment, and the retryer is the deliberate one.
func TestNewAWSConfig(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	m.UseInEnv(t)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := access.NewAWSConfig(context.Background(), "")
	require.NoError(t, err)
	require.Equal(t, testenv.Region, cfg.Region)
	require.Equal(t, access.MaxAttempts, cfg.Retryer().MaxAttempts())
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "calls reach moto through AWS_ENDPOINT_URL")
	require.Equal(t, testenv.MotoAccount, aws.ToString(id.Account))

	cfg, err = access.NewAWSConfig(context.Background(), "eu-west-1")
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", cfg.Region, "an explicit region wins over AWS_REGION")
}
