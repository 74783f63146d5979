package targets_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func seed(t *testing.T) (*testenv.Moto, *testenv.Org) {
	t.Helper()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	org := testenv.SeedOrganization(t, m, testenv.OrgSpec{
		OUs: []string{"Workloads", "Workloads/Prod", "Workloads/Dev", "Sandbox"},
		Accounts: []testenv.AccountSpec{
			{Name: "prod-a", OU: "Workloads/Prod", Tags: map[string]string{"env": "prod", "vendor": "streamnative"}},
			{Name: "prod-b", OU: "Workloads/Prod", Tags: map[string]string{"env": "prod"}},
			{Name: "dev-a", OU: "Workloads/Dev", Tags: map[string]string{"env": "dev", "vendor": "streamnative"}},
			{Name: "shared", OU: "Workloads"},
			{Name: "sandbox-a", OU: "Sandbox"},
			{Name: "closed", OU: "Workloads/Prod", Suspended: true},
			{Name: "loose"},
		},
	})
	return m, org
}

func ids(accts []targets.Account) []string {
	out := []string{}
	for _, a := range accts {
		out = append(out, a.ID)
	}
	return out
}

func TestDiscoverAgainstMoto(t *testing.T) {
	m, org := seed(t)
	client := organizations.NewFromConfig(m.AWSConfig(t))
	a := org.Accounts
	all := []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"], a["sandbox-a"], a["loose"]}

	tests := []struct {
		name    string
		filter  targets.Filter
		want    []string
		skipped map[string]string
		wantErr string
	}{
		{name: "all accounts", want: all, skipped: map[string]string{
			a["closed"]: "account is SUSPENDED", org.ManagementID: "management account"}},
		{name: "OU by path, recursive", filter: targets.Filter{OUs: []string{"Root/Workloads"}},
			want: []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"]}, skipped: map[string]string{a["closed"]: "SUSPENDED"}},
		{name: "OU by ID", filter: targets.Filter{OUs: []string{org.OUs["Root/Workloads/Dev"]}}, want: []string{a["dev-a"]}},
		{name: "several OUs", filter: targets.Filter{OUs: []string{"Root/Workloads/Dev", "Root/Sandbox"}}, want: []string{a["dev-a"], a["sandbox-a"]}},
		{name: "accounts", filter: targets.Filter{Accounts: []string{a["prod-b"], a["loose"]}}, want: []string{a["prod-b"], a["loose"]}},
		{name: "account tag", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative"}}, want: []string{a["prod-a"], a["dev-a"]}},
		{name: "two tags", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative", "env": "prod"}}, want: []string{a["prod-a"]}},
		{name: "exclude account", filter: targets.Filter{OUs: []string{"Root/Workloads/Prod"}, ExcludeAccounts: []string{a["prod-b"]}},
			want: []string{a["prod-a"]}, skipped: map[string]string{a["prod-b"]: "--exclude-account", a["closed"]: "SUSPENDED"}},
		{name: "exclude OU, recursive", filter: targets.Filter{ExcludeOUs: []string{"Root/Workloads"}},
			want: []string{a["sandbox-a"], a["loose"]}},
		{name: "include management", filter: targets.Filter{IncludeManagement: true, Accounts: []string{org.ManagementID}}, want: []string{org.ManagementID}},
		{name: "management excluded by default even when named", filter: targets.Filter{Accounts: []string{org.ManagementID}},
			want: []string{}, skipped: map[string]string{org.ManagementID: "--include-management"}},
		{name: "unknown OU", filter: targets.Filter{OUs: []string{"Root/Nope"}}, wantErr: `unknown OU "Root/Nope"`},
		{name: "unknown OU ID", filter: targets.Filter{ExcludeOUs: []string{"ou-zzzz-zzzzzzzz"}}, wantErr: `unknown OU "ou-zzzz-zzzzzzzz"`},
		{name: "account not in org", filter: targets.Filter{Accounts: []string{"999999999999"}}, wantErr: "999999999999 is not in the organization"},
		{name: "malformed account", filter: targets.Filter{Accounts: []string{"12345"}}, wantErr: "exactly 12 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := targets.Discover(context.Background(), client, tt.filter)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tt.want, ids(res.Targets))
			for id, reason := range tt.skipped {
				found := false
				for _, s := range res.Skipped {
					if s.Account.ID == id {
						require.Contains(t, s.Reason, reason)
						found = true
					}
				}
				require.True(t, found, "account %s is reported as skipped", id)
			}
		})
	}

	res, err := targets.Discover(context.Background(), client, targets.Filter{Accounts: []string{a["prod-a"]}})
	require.NoError(t, err)
	require.Equal(t, "Root/Workloads/Prod", res.Targets[0].OUPath)
	require.Equal(t, "prod-a", res.Targets[0].Name)
	require.Equal(t, "ACTIVE", res.Targets[0].Status)
}

func TestAccountsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	csvFile := write("accounts.csv", "id,name,ou_path,tags\n111111111111,prod,Root/Workloads/Prod,env=prod;team=data\n222222222222,dev,Root/Workloads/Dev,env=dev\n333333333333,sandbox,Root/Sandbox,\n")
	accts, err := targets.LoadAccountsFile(csvFile)
	require.NoError(t, err)
	require.Len(t, accts, 3)
	require.Equal(t, map[string]string{"env": "prod", "team": "data"}, accts[0].Tags)

	res, err := targets.ApplyFilter(accts, targets.Filter{OUs: []string{"Root/Workloads"}, ExcludeAccounts: []string{"222222222222"}})
	require.NoError(t, err)
	require.Equal(t, []string{"111111111111"}, ids(res.Targets))
	res, err = targets.ApplyFilter(accts, targets.Filter{AccountTags: map[string]string{"env": "dev"}})
	require.NoError(t, err)
	require.Equal(t, []string{"222222222222"}, ids(res.Targets))
	_, err = targets.ApplyFilter(accts, targets.Filter{Accounts: []string{"444444444444"}})
	require.ErrorContains(t, err, "not in the accounts file")

	yamlFile := write("accounts.yaml", "accounts:\n  - id: \"111111111111\"\n    name: prod\n    ouPath: Root/Prod\n  - id: \"222222222222\"\n")
	accts, err = targets.LoadAccountsFile(yamlFile)
	require.NoError(t, err)
	require.Equal(t, []string{"111111111111", "222222222222"}, ids(accts))

	bad := []struct {
		name, file, body, want string
	}{
		{"bad id", "bad.csv", "id,name\n111111111111,a\n12345,b\n", "bad.csv: row 3: id \"12345\": an AWS account ID is exactly 12 digits"},
		{"duplicate", "dup.csv", "id\n111111111111\n111111111111\n", "dup.csv: row 3: id 111111111111 is already listed at row 2"},
		{"no id column", "noid.csv", "name,ou_path\na,Root\n", "noid.csv: row 1: the header has no id column"},
		{"bad tags", "tags.csv", "id,tags\n111111111111,env\n", "tags.csv: row 2: tags \"env\""},
		{"malformed yaml", "bad.yaml", "accounts: [\n", "bad.yaml"},
		{"unknown yaml field", "field.yaml", "accounts:\n  - id: \"111111111111\"\n    region: eu\n", "field.yaml"},
		{"yaml bad id", "id.yaml", "accounts:\n  - id: \"1\"\n", "id.yaml: row 1: id \"1\""},
		{"empty", "empty.csv", "id\n", "no accounts listed"},
		{"extension", "accounts.txt", "111111111111\n", "use a .csv or .yaml file"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := targets.LoadAccountsFile(write(tt.file, tt.body))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestShardsPartitionAccounts(t *testing.T) {
	var all []targets.Account
	for i := 0; i < 1000; i++ {
		all = append(all, targets.Account{ID: fmt.Sprintf("%012d", 100000000000+i*7919)})
	}
	for _, n := range []int{1, 2, 3, 8} {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			s, err := targets.ParseShard(fmt.Sprintf("%d/%d", i, n))
			require.NoError(t, err)
			part := s.Select(all)
			if n > 1 {
				require.InDelta(t, len(all)/n, len(part), float64(len(all))/float64(n)*0.3, "shards are roughly even")
			}
			for _, a := range part {
				seen[a.ID]++
			}
		}
		require.Len(t, seen, len(all), "every account is in a shard (n=%d)", n)
		for id, c := range seen {
			require.Equal(t, 1, c, "account %s is in exactly one shard (n=%d)", id, n)
		}
	}
	for _, bad := range []string{"0/2", "3/2", "a/b", "1", "1/0"} {
		_, err := targets.ParseShard(bad)
		require.ErrorContains(t, err, "--shard", bad)
	}
}

// BenchmarkDiscover1000 lists an organization of 1,000 member accounts in moto.
func BenchmarkDiscover1000(b *testing.B) {
	m := testenv.StartMoto(b, testenv.WithoutManagedPolicies())
	testenv.SeedOrganization(b, m, testenv.OrgSpec{OUs: []string{"Workloads"}})
	testenv.AddAccounts(b, m, "scale", 1000)
	client := organizations.NewFromConfig(m.AWSConfig(b))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := targets.Discover(context.Background(), client, targets.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Targets) != 1000 {
			b.Fatalf("found %d accounts", len(res.Targets))
		}
	}
}

func TestDiscoverUnderThrottling(t *testing.T) {
	m, org := seed(t)
	var n atomic.Int64
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		switch n.Add(1) % 10 {
		case 1:
			return testenv.TooMany
		case 6:
			return testenv.ServerError
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)
	res, err := targets.Discover(context.Background(), organizations.NewFromConfig(cfg),
		targets.Filter{OUs: []string{"Root/Workloads"}, AccountTags: map[string]string{"env": "prod"}})
	require.NoError(t, err, "throttled and failed calls are retried")
	require.ElementsMatch(t, []string{org.Accounts["prod-a"], org.Accounts["prod-b"]}, ids(res.Targets))
	require.Greater(t, proxy.Injected(), int64(2), "faults were injected")
}
