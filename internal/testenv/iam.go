package testenv

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// UserConfig creates an IAM user in MotoAccount with policyDocument as its only (inline)
// policy and an access key, and returns an SDK config that acts as that user. Together with
// EnforceIAM it lets moto itself deny calls, e.g. sts:AssumeRole into one account only.
// Call it before EnforceIAM: once IAM is enforced the default credentials are refused.
func (m *Moto) UserConfig(t testing.TB, name, policyDocument string) aws.Config {
	t.Helper()
	ctx := context.Background()
	client := iam.NewFromConfig(m.AWSConfig(t))
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("create IAM user %s: %v", name, err)
	}
	if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String(name), PolicyName: aws.String(name + "-policy"), PolicyDocument: aws.String(policyDocument),
	}); err != nil {
		t.Fatalf("put policy of IAM user %s: %v", name, err)
	}
	key, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("create access key of IAM user %s: %v", name, err)
	}
	return m.ConfigFor(t, credentials.NewStaticCredentialsProvider(
		aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
}

// EnforceIAM makes moto check, from now until the test ends, every request's SigV4 signature
// and the caller's IAM policies, as AWS does; by default moto allows everything.
//
// What moto 5.2 then checks: the access key must belong to an IAM user it knows (the default
// fake key does not, so only UserConfig credentials and the ones assumed from them work) or to
// a role session it issued; the user's or role's identity policies must allow the action on
// the resource (for sts:AssumeRole the resource is the role ARN, so a Deny on one account's
// role fails AssumeRole into that account alone, with AccessDenied); the role's trust policy
// is checked only when the role is in the caller's own account. sts:GetCallerIdentity is
// always allowed. The switch is global to the moto server, which is why each test starts its
// own.
func (m *Moto) EnforceIAM(t testing.TB) {
	t.Helper()
	m.setAuthCount(t, "0")
	t.Cleanup(func() { m.setAuthCount(t, "inf") })
}

// setAuthCount sets how many more requests moto serves before it starts enforcing IAM
// (moto's INITIAL_NO_AUTH_ACTION_COUNT).
func (m *Moto) setAuthCount(t testing.TB, count string) {
	t.Helper()
	resp, err := m.api().Post(m.Endpoint+"/moto-api/reset-auth", "text/plain", strings.NewReader(count))
	if err != nil {
		t.Fatalf("moto reset-auth: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("moto reset-auth: %s: %s", resp.Status, body)
	}
}
