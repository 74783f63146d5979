// Package targets decides which AWS accounts a rollout acts on: the member accounts of an AWS
// Organization, found through the Organizations API and narrowed by OU, account, tag and
// exclusion filters, or a list of accounts from a file for users without Organizations access.
package targets

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"golang.org/x/sync/errgroup"
)

// Account is one AWS account a rollout may act on.
type Account struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Email  string            `json:"email,omitempty"`
	Status string            `json:"status,omitempty"`
	OUID   string            `json:"ouId,omitempty"`
	OUPath string            `json:"ouPath,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
	// Management is true for the organization's management account.
	Management bool `json:"management,omitempty"`
	// ouChain is the OU IDs from the root down to the account's OU, for recursive filters.
	ouChain []string
}

// Filter narrows the accounts of an organization. The zero Filter selects every ACTIVE
// member account except the management account.
type Filter struct {
	// OUs selects accounts in these OUs or any OU below them: IDs (ou-..., r-...) or paths
	// from the root ("Root/Workloads/Prod").
	OUs []string
	// Accounts selects these account IDs.
	Accounts []string
	// AccountTags selects accounts that carry every one of these tags.
	AccountTags map[string]string
	// ExcludeAccounts and ExcludeOUs (recursive) remove accounts after selection.
	ExcludeAccounts []string
	ExcludeOUs      []string
	// IncludeManagement acts on the management account too; it is excluded by default
	// because granting a vendor access there reaches the whole organization.
	IncludeManagement bool
}

// Skip is an account the filter selected but the rollout will not act on, and why.
type Skip struct {
	Account Account `json:"account"`
	Reason  string  `json:"reason"`
}

// Result is the outcome of discovery: the targets, in account ID order, and the skipped.
type Result struct {
	Targets []Account `json:"targets"`
	Skipped []Skip    `json:"skipped"`
}

// Organizations is the part of the Organizations API discovery reads; *organizations.Client
// satisfies it.
type Organizations interface {
	organizations.ListRootsAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	organizations.ListAccountsForParentAPIClient
	organizations.ListTagsForResourceAPIClient
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

var accountIDPattern = regexp.MustCompile(`^\d{12}$`)

// ValidateAccountID checks that id is an AWS account ID.
func ValidateAccountID(id string) error {
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("account ID %q: an AWS account ID is exactly 12 digits", id)
	}
	return nil
}

// Validate checks the filter's own values before any API call.
func (f Filter) Validate() error {
	for _, id := range append(append([]string{}, f.Accounts...), f.ExcludeAccounts...) {
		if err := ValidateAccountID(id); err != nil {
			return err
		}
	}
	for _, ou := range append(append([]string{}, f.OUs...), f.ExcludeOUs...) {
		if strings.TrimSpace(ou) == "" {
			return fmt.Errorf("an empty OU was given: use an OU ID (ou-...) or a path such as Root/Workloads")
		}
	}
	for k := range f.AccountTags {
		if k == "" {
			return fmt.Errorf("an account tag filter needs a key: key=value")
		}
	}
	return nil
}

// tagConcurrency bounds the per-account tag reads: Organizations throttles at a few calls a
// second per account, and the SDK's retryer absorbs the rest.
const tagConcurrency = 8

// org is an organization as discovery sees it.
type org struct {
	management string
	ous        map[string]ou // by ID
	byPath     map[string]string
	accounts   []Account
}

type ou struct {
	id, name, path string
	chain          []string
}

// Discover lists the organization's accounts and applies the filter.
func Discover(ctx context.Context, client Organizations, f Filter) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	o, err := readOrg(ctx, client)
	if err != nil {
		return Result{}, err
	}
	if len(f.AccountTags) > 0 {
		if err := readTags(ctx, client, o.accounts); err != nil {
			return Result{}, err
		}
	}
	return o.apply(f)
}

func readOrg(ctx context.Context, client Organizations) (*org, error) {
	desc, err := client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("describe organization: %w", err)
	}
	o := &org{ous: map[string]ou{}, byPath: map[string]string{}}
	if desc.Organization != nil {
		o.management = aws.ToString(desc.Organization.MasterAccountId)
	}
	var roots []types.Root
	pages := organizations.NewListRootsPaginator(client, &organizations.ListRootsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roots: %w", err)
		}
		roots = append(roots, page.Roots...)
	}
	queue := []ou{}
	for _, r := range roots {
		root := ou{id: aws.ToString(r.Id), name: "Root", path: "Root", chain: []string{aws.ToString(r.Id)}}
		queue = append(queue, root)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		o.ous[cur.id] = cur
		o.byPath[cur.path] = cur.id
		children := organizations.NewListOrganizationalUnitsForParentPaginator(client, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(cur.id)})
		for children.HasMorePages() {
			page, err := children.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list OUs under %s: %w", cur.path, err)
			}
			for _, c := range page.OrganizationalUnits {
				id := aws.ToString(c.Id)
				chain := append(append([]string{}, cur.chain...), id)
				queue = append(queue, ou{id: id, name: aws.ToString(c.Name), path: cur.path + "/" + aws.ToString(c.Name), chain: chain})
			}
		}
		accts := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{ParentId: aws.String(cur.id)})
		for accts.HasMorePages() {
			page, err := accts.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list accounts in %s: %w", cur.path, err)
			}
			for _, a := range page.Accounts {
				status := string(a.State)
				if status == "" {
					status = string(a.Status)
				}
				id := aws.ToString(a.Id)
				o.accounts = append(o.accounts, Account{
					ID: id, Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), Status: status,
					OUID: cur.id, OUPath: cur.path, Management: id == o.management, ouChain: cur.chain,
				})
			}
		}
	}
	sort.Slice(o.accounts, func(i, j int) bool { return o.accounts[i].ID < o.accounts[j].ID })
	return o, nil
}

func readTags(ctx context.Context, client Organizations, accounts []Account) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(tagConcurrency)
	var mu sync.Mutex
	for i := range accounts {
		g.Go(func() error {
			tags := map[string]string{}
			pages := organizations.NewListTagsForResourcePaginator(client, &organizations.ListTagsForResourceInput{ResourceId: aws.String(accounts[i].ID)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("account %s: list tags: %w", accounts[i].ID, err)
				}
				for _, t := range page.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			mu.Lock()
			accounts[i].Tags = tags
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// resolveOU turns an OU ID or path into an OU ID.
func (o *org) resolveOU(ref string) (string, error) {
	ref = strings.TrimSuffix(strings.TrimSpace(ref), "/")
	if _, ok := o.ous[ref]; ok {
		return ref, nil
	}
	if id, ok := o.byPath[ref]; ok {
		return id, nil
	}
	known := make([]string, 0, len(o.byPath))
	for p := range o.byPath {
		known = append(known, p)
	}
	sort.Strings(known)
	if len(known) > 10 {
		known = append(known[:10], "...")
	}
	return "", fmt.Errorf("unknown OU %q: give an OU ID (ou-...) or a path from the root; the organization has %s", ref, strings.Join(known, ", "))
}

func (o *org) apply(f Filter) (Result, error) {
	include, err := o.resolveOUs(f.OUs)
	if err != nil {
		return Result{}, err
	}
	exclude, err := o.resolveOUs(f.ExcludeOUs)
	if err != nil {
		return Result{}, err
	}
	byID := map[string]bool{}
	for _, a := range o.accounts {
		byID[a.ID] = true
	}
	for _, id := range f.Accounts {
		if !byID[id] {
			return Result{}, fmt.Errorf("account %s is not in the organization: check --account", id)
		}
	}
	return selectAccounts(o.accounts, f, func(a Account, ous map[string]bool) bool {
		for _, id := range a.ouChain {
			if ous[id] {
				return true
			}
		}
		return false
	}, include, exclude), nil
}

func (o *org) resolveOUs(refs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range refs {
		id, err := o.resolveOU(r)
		if err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, nil
}

// selectAccounts applies a filter given a way to test OU membership.
func selectAccounts(all []Account, f Filter, inOU func(Account, map[string]bool) bool, include, exclude map[string]bool) Result {
	wanted := map[string]bool{}
	for _, id := range f.Accounts {
		wanted[id] = true
	}
	excluded := map[string]bool{}
	for _, id := range f.ExcludeAccounts {
		excluded[id] = true
	}
	res := Result{Targets: []Account{}, Skipped: []Skip{}}
	for _, a := range all {
		if len(include) > 0 && !inOU(a, include) && !wanted[a.ID] {
			continue
		}
		if len(wanted) > 0 && len(include) == 0 && !wanted[a.ID] {
			continue
		}
		if !hasTags(a, f.AccountTags) {
			continue
		}
		switch {
		case excluded[a.ID]:
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "excluded by --exclude-account"})
		case len(exclude) > 0 && inOU(a, exclude):
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "excluded by --exclude-ou"})
		case a.Management && !f.IncludeManagement:
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "management account (pass --include-management to act on it)"})
		case a.Status != "" && a.Status != "ACTIVE":
			res.Skipped = append(res.Skipped, Skip{Account: a, Reason: "account is " + a.Status})
		default:
			res.Targets = append(res.Targets, a)
		}
	}
	return res
}

func hasTags(a Account, want map[string]string) bool {
	for k, v := range want {
		if got, ok := a.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}
