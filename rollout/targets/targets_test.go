package targets_test

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// spec is the organization the moto tests share: nested OUs, tagged accounts, a suspended
// account, an account in the root, and the management account (which moto puts in the root).
var spec = testenv.OrgSpec{
	OUs: []string{"Workloads", "Workloads/Prod", "Workloads/Dev", "Sandbox"},
	Accounts: []testenv.AccountSpec{
		{Name: "prod-a", OU: "Workloads/Prod", Tags: map[string]string{"env": "prod", "vendor": "streamnative"}},
		{Name: "prod-b", OU: "Workloads/Prod", Tags: map[string]string{"env": "prod"}},
		{Name: "dev-a", OU: "Workloads/Dev", Tags: map[string]string{"env": "dev", "vendor": "streamnative"}},
		{Name: "shared", OU: "Workloads", Email: "platform+shared@example.com"},
		{Name: "sandbox-a", OU: "Sandbox", Tags: map[string]string{"env": "dev"}},
		{Name: "closed", OU: "Workloads/Prod", Tags: map[string]string{"env": "prod"}, Suspended: true},
		{Name: "loose"},
	},
}

func seed(t *testing.T) (*testenv.Moto, *testenv.Org) {
	t.Helper()
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	return m, testenv.SeedOrganization(t, m, spec)
}

func ids(accts []targets.Account) []string {
	out := []string{}
	for _, a := range accts {
		out = append(out, a.ID)
	}
	return out
}

func skipped(res targets.Result) map[string]string {
	out := map[string]string{}
	for _, s := range res.Skipped {
		out[s.Account.ID] = s.Reason
	}
	return out
}

const (
	suspended  = "account is SUSPENDED"
	management = "management account (pass --include-management to act on it)"
)

func TestDiscoverAgainstMoto(t *testing.T) {
	t.Parallel()
	m, org := seed(t)
	client := organizations.NewFromConfig(m.AWSConfig(t))
	a := org.Accounts
	mgmt := org.ManagementID

	tests := []struct {
		name    string
		filter  targets.Filter
		want    []string
		skipped map[string]string // the exact Skipped list, by account
		wantErr string
	}{
		{name: "all accounts", want: []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"], a["sandbox-a"], a["loose"]},
			skipped: map[string]string{a["closed"]: suspended, mgmt: management}},
		{name: "OU by path is recursive", filter: targets.Filter{OUs: []string{"Root/Workloads"}},
			want: []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"]}, skipped: map[string]string{a["closed"]: suspended}},
		{name: "OU path without Root", filter: targets.Filter{OUs: []string{"Workloads/Prod/"}},
			want: []string{a["prod-a"], a["prod-b"]}, skipped: map[string]string{a["closed"]: suspended}},
		{name: "OU by ID is recursive", filter: targets.Filter{OUs: []string{org.OUs["Root/Workloads"]}},
			want: []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"]}, skipped: map[string]string{a["closed"]: suspended}},
		{name: "leaf OU by ID", filter: targets.Filter{OUs: []string{org.OUs["Root/Workloads/Dev"]}}, want: []string{a["dev-a"]}, skipped: map[string]string{}},
		{name: "root by ID", filter: targets.Filter{OUs: []string{org.RootID}},
			want:    []string{a["prod-a"], a["prod-b"], a["dev-a"], a["shared"], a["sandbox-a"], a["loose"]},
			skipped: map[string]string{a["closed"]: suspended, mgmt: management}},
		{name: "several OUs", filter: targets.Filter{OUs: []string{"Root/Workloads/Dev", "Root/Sandbox"}}, want: []string{a["dev-a"], a["sandbox-a"]}, skipped: map[string]string{}},
		{name: "accounts", filter: targets.Filter{Accounts: []string{a["prod-b"], a["loose"]}}, want: []string{a["prod-b"], a["loose"]}, skipped: map[string]string{}},
		{name: "accounts and OUs add up", filter: targets.Filter{OUs: []string{"Root/Sandbox"}, Accounts: []string{a["loose"]}},
			want: []string{a["sandbox-a"], a["loose"]}, skipped: map[string]string{}},
		{name: "a named suspended account is skipped", filter: targets.Filter{Accounts: []string{a["closed"]}},
			want: []string{}, skipped: map[string]string{a["closed"]: suspended}},
		{name: "account tag", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative"}}, want: []string{a["prod-a"], a["dev-a"]}, skipped: map[string]string{}},
		{name: "every tag must match", filter: targets.Filter{AccountTags: map[string]string{"vendor": "streamnative", "env": "prod"}}, want: []string{a["prod-a"]}, skipped: map[string]string{}},
		{name: "tag and OU", filter: targets.Filter{OUs: []string{"Root/Workloads"}, AccountTags: map[string]string{"env": "dev"}}, want: []string{a["dev-a"]}, skipped: map[string]string{}},
		{name: "tag matches a suspended account", filter: targets.Filter{AccountTags: map[string]string{"env": "prod"}},
			want: []string{a["prod-a"], a["prod-b"]}, skipped: map[string]string{a["closed"]: suspended}},
		{name: "tag matches nothing", filter: targets.Filter{AccountTags: map[string]string{"env": "qa"}}, want: []string{}, skipped: map[string]string{}},
		{name: "exclude account", filter: targets.Filter{OUs: []string{"Root/Workloads/Prod"}, ExcludeAccounts: []string{a["prod-b"]}},
			want: []string{a["prod-a"]}, skipped: map[string]string{a["prod-b"]: "excluded by --exclude-account", a["closed"]: suspended}},
		{name: "exclude OU is recursive", filter: targets.Filter{ExcludeOUs: []string{"Root/Workloads"}},
			want: []string{a["sandbox-a"], a["loose"]},
			skipped: map[string]string{a["prod-a"]: "excluded by --exclude-ou", a["prod-b"]: "excluded by --exclude-ou", a["dev-a"]: "excluded by --exclude-ou",
				a["shared"]: "excluded by --exclude-ou", a["closed"]: "excluded by --exclude-ou", mgmt: management}},
		{name: "exclude OU by ID inside an included OU", filter: targets.Filter{OUs: []string{"Root/Workloads"}, ExcludeOUs: []string{org.OUs["Root/Workloads/Prod"]}},
			want:    []string{a["dev-a"], a["shared"]},
			skipped: map[string]string{a["prod-a"]: "excluded by --exclude-ou", a["prod-b"]: "excluded by --exclude-ou", a["closed"]: "excluded by --exclude-ou"}},
		{name: "include management", filter: targets.Filter{IncludeManagement: true},
			want:    []string{mgmt, a["prod-a"], a["prod-b"], a["dev-a"], a["shared"], a["sandbox-a"], a["loose"]},
			skipped: map[string]string{a["closed"]: suspended}},
		{name: "management skipped even when named", filter: targets.Filter{Accounts: []string{mgmt}},
			want: []string{}, skipped: map[string]string{mgmt: management}},
		{name: "unknown OU path", filter: targets.Filter{OUs: []string{"Root/Nope"}}, wantErr: `unknown OU "Root/Nope"`},
		{name: "unknown OU ID", filter: targets.Filter{ExcludeOUs: []string{"ou-zzzz-zzzzzzzz"}}, wantErr: `unknown OU "ou-zzzz-zzzzzzzz"`},
		{name: "account not in the organization", filter: targets.Filter{Accounts: []string{"999999999999"}}, wantErr: "account 999999999999 is not in the organization"},
		{name: "malformed account", filter: targets.Filter{Accounts: []string{"12345"}}, wantErr: `account ID "12345": an AWS account ID is exactly 12 digits`},
		{name: "malformed excluded account", filter: targets.Filter{ExcludeAccounts: []string{"1234567890123"}}, wantErr: "exactly 12 digits"},
		{name: "empty OU", filter: targets.Filter{OUs: []string{" "}}, wantErr: "an empty OU"},
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
			require.Equal(t, tt.skipped, skipped(res))
			require.True(t, sort.StringsAreSorted(ids(res.Targets)), "targets are in account ID order")
			var skippedIDs []string
			for _, s := range res.Skipped {
				skippedIDs = append(skippedIDs, s.Account.ID)
			}
			require.True(t, sort.StringsAreSorted(skippedIDs), "skipped accounts are in account ID order")
		})
	}

	t.Run("what an account carries", func(t *testing.T) {
		res, err := targets.Discover(context.Background(), client, targets.Filter{IncludeManagement: true})
		require.NoError(t, err)
		byID := map[string]targets.Account{}
		for _, acct := range append(res.Targets, res.Skipped[0].Account) {
			byID[acct.ID] = acct
		}
		prod := byID[a["prod-a"]]
		require.Equal(t, "prod-a", prod.Name)
		require.Equal(t, "prod-a@example.com", prod.Email)
		require.Equal(t, "ACTIVE", prod.Status)
		require.Equal(t, "Root/Workloads/Prod", prod.OUPath)
		require.Equal(t, org.OUs["Root/Workloads/Prod"], prod.OUID)
		require.False(t, prod.Management)
		require.Nil(t, prod.Tags, "tags are read only when asked for")
		require.Equal(t, "platform+shared@example.com", byID[a["shared"]].Email)
		require.Equal(t, "Root/Workloads", byID[a["shared"]].OUPath)
		require.Equal(t, "Root", byID[a["loose"]].OUPath)
		require.Equal(t, org.RootID, byID[a["loose"]].OUID)
		require.True(t, byID[mgmt].Management)
		require.Equal(t, "Root", byID[mgmt].OUPath)
		closed := res.Skipped[0].Account
		require.Equal(t, a["closed"], closed.ID)
		require.Equal(t, "SUSPENDED", closed.Status)
	})

	t.Run("WithTags reads tags without a tag filter", func(t *testing.T) {
		res, err := targets.Discover(context.Background(), client, targets.Filter{OUs: []string{"Root/Workloads/Prod"}}, targets.WithTags(), targets.Parallel(2))
		require.NoError(t, err)
		want := []string{a["prod-a"], a["prod-b"]}
		sort.Strings(want)
		require.Equal(t, want, ids(res.Targets))
		for _, acct := range res.Targets {
			require.Equal(t, "prod", acct.Tags["env"])
		}
		require.Equal(t, map[string]string{"env": "prod"}, res.Skipped[0].Account.Tags)
	})
}

// BenchmarkDiscover1000 lists an organization of 1,000 member accounts in moto, with and
// without a tag filter (one ListTagsForResource per account).
func BenchmarkDiscover1000(b *testing.B) {
	m := testenv.StartMoto(b, testenv.WithoutManagedPolicies())
	testenv.SeedOrganization(b, m, testenv.OrgSpec{OUs: []string{"Workloads"}})
	testenv.AddAccounts(b, m, "scale", 1000)
	client := organizations.NewFromConfig(m.AWSConfig(b))
	for _, bm := range []struct {
		name   string
		filter targets.Filter
		want   int
	}{
		{"all", targets.Filter{}, 1000},
		{"tag filter", targets.Filter{AccountTags: map[string]string{"env": "none"}}, 0},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, err := targets.Discover(context.Background(), client, bm.filter)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Targets) != bm.want {
					b.Fatalf("found %d accounts, want %d", len(res.Targets), bm.want)
				}
			}
		})
	}
}

// TestDiscoverUnderThrottling: the production retryer absorbs throttling and server errors
// from the Organizations API.
func TestDiscoverUnderThrottling(t *testing.T) {
	t.Parallel()
	m, org := seed(t)
	var n atomic.Int64
	// One throttle and one server error early on: each costs the retryer's backoff (seconds),
	// so more would only slow the test down.
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		switch n.Add(1) {
		case 2:
			return testenv.TooMany
		case 7:
			return testenv.ServerError
		}
		return nil
	})
	cfg := testenv.RetryingConfig(t, proxy.URL)
	res, err := targets.Discover(context.Background(), organizations.NewFromConfig(cfg),
		targets.Filter{OUs: []string{"Root/Workloads"}, AccountTags: map[string]string{"env": "prod"}})
	require.NoError(t, err, "throttled and failed calls are retried")
	require.ElementsMatch(t, []string{org.Accounts["prod-a"], org.Accounts["prod-b"]}, ids(res.Targets))
	require.Equal(t, int64(2), proxy.Injected(), "faults were injected")
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
