package targets_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// fakeOrg is an in-memory organization behind the targets.Organizations interface, for what
// moto cannot show: states moto never produces, pages of two, call counts, concurrency and
// failures of single calls.
type fakeOrg struct {
	management string
	ous        map[string][]types.OrganizationalUnit // by parent
	accounts   map[string][]types.Account            // by parent
	tags       map[string][]types.Tag                // by account
	fail       map[string]error                      // by "Operation parent-or-account"
	describe   error

	tagCalls atomic.Int64 // first pages of ListTagsForResource
	mu       sync.Mutex
	inFlight int
	maxSeen  int
}

const pageSize = 2

func (f *fakeOrg) enter() func() {
	f.mu.Lock()
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.mu.Unlock()
	time.Sleep(time.Millisecond)
	return func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }
}

// page returns items[token:token+pageSize] and the next token.
func page[T any](items []T, token *string) ([]T, *string) {
	start := 0
	if token != nil {
		start, _ = strconv.Atoi(*token)
	}
	end := min(start+pageSize, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next
}

func (f *fakeOrg) DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error) {
	if f.describe != nil {
		return nil, f.describe
	}
	return &organizations.DescribeOrganizationOutput{Organization: &types.Organization{MasterAccountId: aws.String(f.management)}}, nil
}

func (f *fakeOrg) ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error) {
	return &organizations.ListRootsOutput{Roots: []types.Root{{Id: aws.String("r-root")}}}, nil
}

func (f *fakeOrg) ListOrganizationalUnitsForParent(_ context.Context, in *organizations.ListOrganizationalUnitsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	defer f.enter()()
	if err := f.fail["ListOrganizationalUnitsForParent "+aws.ToString(in.ParentId)]; err != nil {
		return nil, err
	}
	items, next := page(f.ous[aws.ToString(in.ParentId)], in.NextToken)
	return &organizations.ListOrganizationalUnitsForParentOutput{OrganizationalUnits: items, NextToken: next}, nil
}

func (f *fakeOrg) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	defer f.enter()()
	if err := f.fail["ListAccountsForParent "+aws.ToString(in.ParentId)]; err != nil {
		return nil, err
	}
	items, next := page(f.accounts[aws.ToString(in.ParentId)], in.NextToken)
	return &organizations.ListAccountsForParentOutput{Accounts: items, NextToken: next}, nil
}

func (f *fakeOrg) ListTagsForResource(_ context.Context, in *organizations.ListTagsForResourceInput, _ ...func(*organizations.Options)) (*organizations.ListTagsForResourceOutput, error) {
	defer f.enter()()
	if in.NextToken == nil {
		f.tagCalls.Add(1) // accounts whose tags were read
	}
	if err := f.fail["ListTagsForResource "+aws.ToString(in.ResourceId)]; err != nil {
		return nil, err
	}
	items, next := page(f.tags[aws.ToString(in.ResourceId)], in.NextToken)
	return &organizations.ListTagsForResourceOutput{Tags: items, NextToken: next}, nil
}

func acct(id, name string, state types.AccountState) types.Account {
	return types.Account{Id: aws.String(id), Name: aws.String(name), State: state}
}

// newFakeOrg: Root{mgmt, 5 accounts} / Workloads{3 accounts, one PENDING_CLOSURE} /
// Workloads/Prod{1, and one with only the retired Status field} / Workloads/Prod/Inner{1
// PENDING_ACTIVATION}, and 3 empty OUs in the root so that OU listings span pages.
func newFakeOrg() *fakeOrg {
	f := &fakeOrg{
		management: "000000000001",
		ous: map[string][]types.OrganizationalUnit{
			"r-root": {
				{Id: aws.String("ou-w"), Name: aws.String("Workloads")},
				{Id: aws.String("ou-e1"), Name: aws.String("Empty1")},
				{Id: aws.String("ou-e2"), Name: aws.String("Empty2")},
			},
			"ou-w": {{Id: aws.String("ou-p"), Name: aws.String("Prod")}},
			"ou-p": {{Id: aws.String("ou-i"), Name: aws.String("Inner")}},
		},
		accounts: map[string][]types.Account{
			"r-root": {acct("000000000001", "mgmt", types.AccountStateActive)},
			"ou-w": {
				acct("000000000021", "w1", types.AccountStateActive),
				acct("000000000022", "w2", types.AccountStatePendingClosure),
				acct("000000000023", "w3", types.AccountStateActive),
			},
			"ou-p": {
				acct("000000000031", "p1", types.AccountStateActive),
				{Id: aws.String("000000000032"), Name: aws.String("p2"), Status: types.AccountStatusSuspended},
			},
			"ou-i": {acct("000000000041", "i1", types.AccountStatePendingActivation)},
		},
		tags: map[string][]types.Tag{
			"000000000021": {{Key: aws.String("team"), Value: aws.String("data")}, {Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("cost"), Value: aws.String("1")}},
			"000000000031": {{Key: aws.String("team"), Value: aws.String("data")}},
		},
		fail: map[string]error{},
	}
	for i := 11; i <= 15; i++ {
		id := fmt.Sprintf("0000000000%d", i)
		f.accounts["r-root"] = append(f.accounts["r-root"], acct(id, "root-"+id, types.AccountStateActive))
	}
	return f
}

func TestDiscoverWithFakeOrganizations(t *testing.T) {
	ctx := context.Background()

	t.Run("states moto never reports, and pages", func(t *testing.T) {
		f := newFakeOrg()
		res, err := targets.Discover(ctx, f, targets.Filter{})
		require.NoError(t, err)
		require.Equal(t, []string{"000000000011", "000000000012", "000000000013", "000000000014", "000000000015", "000000000021", "000000000023", "000000000031"}, ids(res.Targets))
		require.Equal(t, map[string]string{
			"000000000001": management,
			"000000000022": "account is PENDING_CLOSURE",
			"000000000032": "account is SUSPENDED",
			"000000000041": "account is PENDING_ACTIVATION",
		}, skipped(res))
		require.Zero(t, f.tagCalls.Load(), "no tag filter, no tag calls")
		for _, s := range res.Skipped {
			if s.Account.ID == "000000000041" {
				require.Equal(t, "Root/Workloads/Prod/Inner", s.Account.OUPath)
				require.Equal(t, "ou-i", s.Account.OUID)
			}
		}
	})

	t.Run("tags are read for the selected accounts only, all pages", func(t *testing.T) {
		f := newFakeOrg()
		res, err := targets.Discover(ctx, f, targets.Filter{OUs: []string{"Root/Workloads/Prod"}, AccountTags: map[string]string{"team": "data"}})
		require.NoError(t, err)
		require.Equal(t, []string{"000000000031"}, ids(res.Targets))
		require.Equal(t, int64(3), f.tagCalls.Load(), "one call for each account under Prod")

		f = newFakeOrg()
		res, err = targets.Discover(ctx, f, targets.Filter{AccountTags: map[string]string{"cost": "1"}})
		require.NoError(t, err)
		require.Equal(t, []string{"000000000021"}, ids(res.Targets))
		require.Equal(t, map[string]string{"team": "data", "env": "prod", "cost": "1"}, res.Targets[0].Tags, "the tag on the second page counts")
	})

	t.Run("parallelism is bounded", func(t *testing.T) {
		f := newFakeOrg()
		_, err := targets.Discover(ctx, f, targets.Filter{}, targets.WithTags(), targets.Parallel(3))
		require.NoError(t, err)
		require.Equal(t, int64(12), f.tagCalls.Load(), "WithTags reads the tags of every selected account, skipped ones too")
		require.LessOrEqual(t, f.maxSeen, 3)
		require.Greater(t, f.maxSeen, 1, "calls do run in parallel")
	})

	throttled := &smithy.OperationError{ServiceID: "Organizations", OperationName: "ListAccountsForParent",
		Err: &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress"}}
	denied := &smithy.OperationError{ServiceID: "Organizations", OperationName: "DescribeOrganization",
		Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "You don't have permissions to access this resource."}}
	notInUse := &smithy.GenericAPIError{Code: "AWSOrganizationsNotInUseException", Message: "Your account is not a member of an organization."}
	errTags := errors.New("connection reset")
	for _, tt := range []struct {
		name   string
		setup  func(*fakeOrg)
		filter targets.Filter
		want   []string
		is     error
	}{
		{name: "listing an OU fails", setup: func(f *fakeOrg) { f.fail["ListAccountsForParent ou-p"] = throttled },
			want: []string{"list accounts in Root/Workloads/Prod: ", "TooManyRequestsException"}, is: throttled},
		{name: "listing child OUs fails", setup: func(f *fakeOrg) { f.fail["ListOrganizationalUnitsForParent ou-w"] = throttled },
			want: []string{"list OUs in Root/Workloads: "}, is: throttled},
		{name: "reading tags fails", setup: func(f *fakeOrg) { f.fail["ListTagsForResource 000000000023"] = errTags },
			filter: targets.Filter{AccountTags: map[string]string{"team": "data"}}, want: []string{"list tags of account 000000000023: connection reset"}, is: errTags},
		{name: "not the management account", setup: func(f *fakeOrg) { f.describe = denied },
			want: []string{"describe organization: ", "AccessDeniedException", "needs its management account or a delegated administrator"}, is: denied},
		{name: "no organization", setup: func(f *fakeOrg) { f.describe = notInUse },
			want: []string{"describe organization: ", "in no organization", "accounts file"}, is: notInUse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOrg()
			tt.setup(f)
			_, err := targets.Discover(ctx, f, tt.filter)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			require.ErrorIs(t, err, tt.is, "the API error stays reachable for errors.As/Is")
		})
	}
}
