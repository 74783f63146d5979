package testenv_test

import (
	"context"
	"crypto/x509"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
)

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestSeedOrganization checks the helpers against moto itself, and pins the moto behaviour
// the other packages' tests rely on.
func TestSeedOrganization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs: []string{"Workloads", "Workloads/Prod", "Root/Sandbox"},
		Accounts: []testenv.AccountSpec{
			{Name: "prod", OU: "Workloads/Prod", Email: "ops+prod@example.com", Tags: map[string]string{"env": "prod"}},
			{Name: "closed", OU: "Root/Sandbox", Suspended: true},
			{Name: "loose"},
		},
	})
	client := organizations.NewFromConfig(m.AWSConfig(t))
	require.Equal(t, testenv.MotoAccount, org.ManagementID)
	require.Regexp(t, `^r-[a-z0-9]+$`, org.RootID)
	require.Equal(t, []string{"Root", "Root/Sandbox", "Root/Workloads", "Root/Workloads/Prod"}, slices.Sorted(maps.Keys(org.OUs)))
	require.Regexp(t, `^ou-[a-z0-9]+-[a-z0-9]+$`, org.OUs["Root/Workloads/Prod"])

	parent := func(id string) string {
		out, err := client.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
		require.NoError(t, err)
		require.Len(t, out.Parents, 1)
		return aws.ToString(out.Parents[0].Id)
	}
	require.Equal(t, org.OUs["Root/Workloads/Prod"], parent(org.Accounts["prod"]))
	require.Equal(t, org.OUs["Root/Workloads"], parent(org.OUs["Root/Workloads/Prod"]))
	require.Equal(t, org.RootID, parent(org.Accounts["loose"]))
	require.Equal(t, org.RootID, parent(org.ManagementID), "moto lists the management account in the root")

	prod, err := client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(org.Accounts["prod"])})
	require.NoError(t, err)
	require.Equal(t, "ops+prod@example.com", aws.ToString(prod.Account.Email))
	require.Equal(t, types.AccountStateActive, prod.Account.State)
	tags, err := client.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(org.Accounts["prod"])})
	require.NoError(t, err)
	require.Equal(t, []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}, tags.Tags)

	// moto 5.2 closes an account at once: SUSPENDED in both fields, never PENDING_CLOSURE.
	closed, err := client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(org.Accounts["closed"])})
	require.NoError(t, err)
	require.Equal(t, types.AccountStateSuspended, closed.Account.State)
	require.Equal(t, types.AccountStatusSuspended, closed.Account.Status) // the retired field, still sent
	_, err = client.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(org.Accounts["closed"])})
	require.Equal(t, "AccountAlreadyClosedException", code(err))

	// moto has one organization per management account.
	_, err = client.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	require.Equal(t, "AlreadyInOrganizationException", code(err))

	ids := testenv.AddAccounts(t, m, "scale", 40)
	require.Len(t, ids, 40)
	seen := map[string]bool{}
	for _, id := range ids {
		require.Regexp(t, `^[0-9]{12}$`, id)
		seen[id] = true
	}
	require.Len(t, seen, 40, "account IDs are unique")
	all, err := client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(org.RootID), MaxResults: aws.Int32(20)})
	require.NoError(t, err)
	require.Len(t, all.Accounts, 20)
	require.NotNil(t, all.NextToken, "moto pages ListAccountsForParent")

	// Reset clears the organization, so a test can seed another one on the same server.
	m.Reset(t)
	_, err = client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	require.Equal(t, "AWSOrganizationsNotInUseException", code(err))
	again := testenv.SeedOrganization(t, m, testenv.OrgSpec{Accounts: []testenv.AccountSpec{{Name: "prod"}}})
	require.NotEqual(t, org.RootID, again.RootID)
}

// TestEnforceIAM pins what moto checks once IAM is enforced: the access package's failure
// isolation test depends on it.
func TestEnforceIAM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	user := m.UserConfig(t, "deployer", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
		{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::333333333333:role/*"}]}`)
	m.EnforceIAM(t)

	_, err := sts.NewFromConfig(m.AWSConfig(t)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.Error(t, err, "the default fake key is no IAM user: refused once IAM is enforced")

	client := sts.NewFromConfig(user)
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("t")})
	require.NoError(t, err, "the role need not exist in moto")
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("t")})
	require.Error(t, err, "the Deny holds")
	// moto writes this error as <ErrorResponse><Errors><Error>, which the Go SDK's query
	// protocol parser does not read: the code is lost.
	require.Equal(t, "UnknownError", code(err))
}

func TestEnv(t *testing.T) {
	m := &testenv.Moto{Endpoint: "http://127.0.0.1:1234", Port: 1234}
	require.Equal(t, []string{
		"AWS_ENDPOINT_URL=http://127.0.0.1:1234",
		"AWS_ACCESS_KEY_ID=" + testenv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + testenv.SecretAccessKey,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}, m.Env())
	cfg := m.AWSConfig(t)
	require.Equal(t, "us-east-1", cfg.Region)
	require.Equal(t, "http://127.0.0.1:1234", aws.ToString(cfg.BaseEndpoint))
	creds, err := cfg.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	require.Equal(t, testenv.AccessKeyID, creds.AccessKeyID)
}

// TestMotoOverTLS: moto over HTTPS answers clients given its CA bundle, and refuses the others,
// as an endpoint behind a TLS-inspecting proxy does.
func TestMotoOverTLS(t *testing.T) {
	t.Parallel()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies(), testenv.WithTLS())
	require.True(t, strings.HasPrefix(m.Endpoint, "https://"), m.Endpoint)
	require.FileExists(t, m.CABundle)
	ctx := context.Background()
	id, err := sts.NewFromConfig(m.AWSConfig(t)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, testenv.MotoAccount, aws.ToString(id.Account))
	m.Reset(t)

	cfg := m.AWSConfig(t)
	cfg.HTTPClient = awshttp.NewBuildableClient() // the system's roots only
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var unknownCA x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknownCA)
}
