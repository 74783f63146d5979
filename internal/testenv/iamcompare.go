package testenv

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
)

// RequireSameIAM requires two accounts' IAM states (what render printed, what snapshot read
// live) to be equal after normalisation, so that JSON key order and single-versus-list values
// in policy documents do not count.
func RequireSameIAM(t testing.TB, want, got *iamstate.Account, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, NormalisedIAM(t, want), NormalisedIAM(t, got), msgAndArgs...)
}

// NormalisedIAM is an account's IAM state as plain JSON values with every policy document's
// statements in canonical form.
func NormalisedIAM(t testing.TB, a *iamstate.Account) any {
	t.Helper()
	b, err := json.Marshal(a)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			if _, ok := x["Statement"]; ok {
				return iamstate.CanonicalStatements(x)
			}
			out := map[string]any{}
			for k, v := range x {
				out[k] = walk(v)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, v := range x {
				out[i] = walk(v)
			}
			return out
		}
		return x
	}
	return walk(v)
}

// VendorEntities lists the IAM roles (with their inline policies) and customer-managed
// policies in the client's account, other than the organization's own access role: what a
// vendor grant leaves behind.
func VendorEntities(t testing.TB, client *iam.Client) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	roles, err := client.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	for _, r := range roles.Roles {
		if name := aws.ToString(r.RoleName); name != "OrganizationAccountAccessRole" {
			out = append(out, "role"+aws.ToString(r.Path)+name)
			inline, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
			require.NoError(t, err)
			for _, p := range inline.PolicyNames {
				out = append(out, "inline/"+name+"/"+p)
			}
		}
	}
	pols, err := client.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
	require.NoError(t, err)
	for _, p := range pols.Policies {
		out = append(out, "policy"+aws.ToString(p.Path)+aws.ToString(p.PolicyName))
	}
	sort.Strings(out)
	return out
}
