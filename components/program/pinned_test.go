package program_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/components/program"
	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
)

// TestStackIsPinnedToItsAccount runs `pulumi up` of the program for one stack whose accountId
// names one member account, with credentials acting in another (the management account, as
// with the wrong profile), through a real AWS provider: the update fails saying which account
// the credentials are for, and no role or policy is created in either account. Once with the
// config the rollout writes (the provider's allowedAccountIds refuses the credentials), once
// with only the program's own guard.
func TestStackIsPinnedToItsAccount(t *testing.T) {
	cli, err := pulumicli.Find()
	if err != nil {
		testenv.Missing(t, "needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{Accounts: []testenv.AccountSpec{{Name: "pinned"}}})
	target := org.Accounts["pinned"]
	m.UseInEnv(t)
	testenv.UseAWSProvider(t)

	tests := []struct {
		name string
		// config is changed before the update.
		config func(map[string]string)
		want   string
	}{
		{"the rollout's config: the provider refuses", func(map[string]string) {}, "not allowed"},
		{"only the program's guard", func(c map[string]string) { delete(c, "aws:allowedAccountIds") }, "act in account " + testenv.MotoAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := program.Config{Vendor: "streamkap", AccountID: target, Region: testenv.Region}.StackConfig()
			require.NoError(t, err)
			tt.config(cfg)
			stack, err := auto.UpsertStackInlineSource(ctx, "pinned", program.Project, program.Run,
				auto.Pulumi(cli),
				auto.EnvVars(map[string]string{
					"PULUMI_BACKEND_URL": "file://" + t.TempDir(), "PULUMI_CONFIG_PASSPHRASE": "pinned-test",
					"PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
				}))
			require.NoError(t, err)
			for k, v := range cfg {
				require.NoError(t, stack.SetConfigWithOptions(ctx, k, auto.ConfigValue{Value: v}, &auto.ConfigOptions{Path: false}))
			}
			_, err = stack.Up(ctx)
			require.Error(t, err, "an update with another account's credentials must fail")
			require.Contains(t, err.Error(), tt.want)

			for _, id := range []string{target, testenv.MotoAccount} {
				require.Empty(t, roles(t, m, id), "account %s: nothing may be created", id)
			}
		})
	}
}

// roles lists the roles in an account other than the organization's access role.
func roles(t *testing.T, m *testenv.Moto, accountID string) []string {
	t.Helper()
	cfg := m.AWSConfig(t)
	if accountID != testenv.MotoAccount {
		cfg = m.MemberConfig(t, accountID)
	}
	out, err := iam.NewFromConfig(cfg).ListRoles(context.Background(), &iam.ListRolesInput{})
	require.NoError(t, err)
	var names []string
	for _, r := range out.Roles {
		if n := aws.ToString(r.RoleName); n != "OrganizationAccountAccessRole" {
			names = append(names, n)
		}
	}
	return names
}
