package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func TestRoleARNAndValidation(t *testing.T) {
	tests := []struct {
		role    access.ExecutionRole
		want    string
		wantErr string
	}{
		{role: access.ExecutionRole{}, want: "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"},
		{role: access.ExecutionRole{NameOrTemplate: "AWSControlTowerExecution"}, want: "arn:aws:iam::111122223333:role/AWSControlTowerExecution"},
		{role: access.ExecutionRole{NameOrTemplate: "ops/Deployer"}, want: "arn:aws:iam::111122223333:role/ops/Deployer"},
		{role: access.ExecutionRole{NameOrTemplate: "arn:{partition}:iam::{account}:role/byoc/Deployer"}, want: "arn:aws:iam::111122223333:role/byoc/Deployer"},
		{role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::111122223333:role/Fixed"}, wantErr: "must contain {account}"},
		{role: access.ExecutionRole{NameOrTemplate: "arn:aws:iam::{account}:user/x"}, wantErr: "must name a role"},
		{role: access.ExecutionRole{NameOrTemplate: "bad role"}, wantErr: "1 to 64 characters"},
		{role: access.ExecutionRole{SessionName: "x"}, wantErr: "--session-name"},
		{role: access.ExecutionRole{ExternalID: "a"}, wantErr: "--execution-external-id"},
		{role: access.ExecutionRole{Duration: time.Minute}, wantErr: "15m to 12h"},
	}
	for _, tt := range tests {
		err := tt.role.Validate()
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, tt.role.RoleARN("aws", "111122223333"))
	}
	require.Equal(t, "byoc-access-111122223333", access.ExecutionRole{}.Session("111122223333"))
}

// base is an SDK config whose calls go through the fault proxy to moto.
func base(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	return testenv.RetryingConfig(t, endpoint)
}

func TestPreflightAgainstMoto(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}, {ID: "333333333333"}, {ID: "444444444444"}}
	const denied = "333333333333"
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" && strings.Contains(c.Params.Get("RoleArn"), denied) {
			return testenv.AccessDenied
		}
		return nil
	})
	cfg := base(t, proxy.URL)
	role := access.ExecutionRole{ExternalID: "deploy-ext-1"}

	failed := access.Preflight(context.Background(), cfg, sts.NewFromConfig(cfg), role, accounts, 3)
	require.Len(t, failed, 1)
	err := failed[denied]
	require.Error(t, err)
	require.True(t, access.IsAssumeRoleError(err))
	require.True(t, access.IsAccessDenied(err))
	require.Equal(t, "account 333333333333: assume role arn:aws:iam::333333333333:role/OrganizationAccountAccessRole: AccessDenied: User is not authorized to perform: sts:AssumeRole", err.Error())

	// The assumed credentials act in the member account.
	acct := role.Credentials(cfg, sts.NewFromConfig(cfg), "aws", "222222222222")
	id, err := sts.NewFromConfig(acct).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "222222222222", aws.ToString(id.Account))
	require.Contains(t, aws.ToString(id.Arn), "byoc-access-222222222222", "the session name shows in CloudTrail")
}

func TestPreflightRetriesThrottling(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	var n int
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" {
			n++
			if n%2 == 1 {
				return testenv.Throttled
			}
		}
		return nil
	})
	cfg := base(t, proxy.URL)
	accounts := []targets.Account{{ID: "111111111111"}, {ID: "222222222222"}}
	failed := access.Preflight(context.Background(), cfg, sts.NewFromConfig(cfg), access.ExecutionRole{}, accounts, 1)
	require.Empty(t, failed, "throttled calls are retried by the SDK's retryer")
	require.Positive(t, proxy.Injected())
}
