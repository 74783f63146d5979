package targets_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// DiscoverAccount must classify one account as Discover classifies it in the whole list.
func TestDiscoverAccountAgainstMoto(t *testing.T) {
	t.Parallel()
	m, org := seed(t)
	client := organizations.NewFromConfig(m.AWSConfig(t))
	a := org.Accounts

	tests := []struct {
		name   string
		filter targets.Filter
		id     string
		target bool
		inOrg  bool
		reason string
	}{
		{name: "in the OU", filter: targets.Filter{OUs: []string{"Root/Workloads"}}, id: a["prod-a"], target: true, inOrg: true},
		{name: "outside the OU", filter: targets.Filter{OUs: []string{"Root/Workloads"}}, id: a["sandbox-a"], inOrg: true, reason: "not selected by --ou/--account"},
		{name: "tag matches", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative"}}, id: a["dev-a"], target: true, inOrg: true},
		{name: "tag missing", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative"}}, id: a["prod-b"], inOrg: true, reason: "does not carry the tags"},
		{name: "suspended", filter: targets.Filter{OUs: []string{"Root/Workloads"}}, id: a["closed"], inOrg: true, reason: suspended},
		{name: "excluded", filter: targets.Filter{ExcludeAccounts: []string{a["loose"]}}, id: a["loose"], inOrg: true, reason: "excluded by --exclude-account"},
		{name: "not in the organization", filter: targets.Filter{Accounts: []string{"999999999999"}}, id: "999999999999"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := targets.DiscoverAccount(context.Background(), client, tc.filter, tc.id)
			require.NoError(t, err)
			require.Equal(t, tc.id, got.Account.ID)
			require.Equal(t, tc.target, got.Target, got.Reason)
			require.Equal(t, tc.inOrg, got.InOrganization)
			require.Contains(t, got.Reason, tc.reason)
			if tc.target {
				require.NotEmpty(t, got.Account.OUPath)
			}
		})
	}
	_, err := targets.DiscoverAccount(context.Background(), client, targets.Filter{}, "12345")
	require.Error(t, err)
}
