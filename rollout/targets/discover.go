package targets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// Organizations is the part of the Organizations API discovery reads, narrow so that tests
// can fake it; *organizations.Client satisfies it.
type Organizations interface {
	organizations.ListRootsAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	organizations.ListAccountsForParentAPIClient
	organizations.ListTagsForResourceAPIClient
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
}

// DefaultParallel bounds the Organizations calls Discover has in flight. Organizations allows
// only a few requests a second per account, so more would mostly buy throttling, which the
// SDK's retryer absorbs.
const DefaultParallel = 8

// Option changes how Discover reads the organization.
type Option func(*options)

type options struct {
	tags     bool
	parallel int
}

// WithTags reads the tags of every selected account even when no tag filter needs them, for
// callers that show or record tags.
func WithTags() Option { return func(o *options) { o.tags = true } }

// Parallel bounds the Organizations calls in flight (DefaultParallel when n < 1).
func Parallel(n int) Option { return func(o *options) { o.parallel = n } }

// Discover lists the organization's accounts and applies the filter. It needs the management
// account's credentials (or a delegated administrator's). The tree is read one OU level at a
// time with the calls of a level in parallel, and tags only for the accounts the other
// filters selected, so that organizations of thousands of accounts take seconds.
func Discover(ctx context.Context, client Organizations, f Filter, opts ...Option) (Result, error) {
	o := options{parallel: DefaultParallel}
	for _, opt := range opts {
		opt(&o)
	}
	if o.parallel < 1 {
		o.parallel = DefaultParallel
	}
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	tree, err := readOrg(ctx, client, o.parallel)
	if err != nil {
		return Result{}, err
	}
	include, err := tree.resolveOUs(f.OUs)
	if err != nil {
		return Result{}, inField(err, "--ou")
	}
	exclude, err := tree.resolveOUs(f.ExcludeOUs)
	if err != nil {
		return Result{}, inField(err, "--exclude-ou")
	}
	byID := map[string]bool{}
	for _, a := range tree.accounts {
		byID[a.ID] = true
	}
	for _, id := range f.Accounts {
		if !byID[id] {
			return Result{}, &InputError{Field: "--account", Value: id, Problem: fmt.Sprintf("account %s is not in the organization", id), Fix: "check --account"}
		}
	}
	inOU := func(a Account, ous map[string]bool) bool {
		for _, id := range a.ouChain {
			if ous[id] {
				return true
			}
		}
		return false
	}
	candidates := selected(tree.accounts, f, inOU, include)
	if len(f.AccountTags) > 0 || o.tags {
		if err := readTags(ctx, client, candidates, o.parallel); err != nil {
			return Result{}, err
		}
	}
	return classify(candidates, f, inOU, exclude), nil
}

// org is an organization as discovery sees it.
type org struct {
	management string
	ous        map[string]ou     // by ID
	byPath     map[string]string // path -> ID
	accounts   []Account
}

type ou struct {
	id, path string
	chain    []string
}

// ouListing is what the API says is directly below one OU.
type ouListing struct {
	children []ou
	accounts []Account
}

func readOrg(ctx context.Context, client Organizations, parallel int) (*org, error) {
	desc, err := client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("describe organization: %w%s", err, orgAccessHint(err))
	}
	o := &org{ous: map[string]ou{}, byPath: map[string]string{}}
	if desc.Organization != nil {
		o.management = aws.ToString(desc.Organization.MasterAccountId)
	}
	var level []ou
	roots := organizations.NewListRootsPaginator(client, &organizations.ListRootsInput{})
	for roots.HasMorePages() {
		page, err := roots.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roots: %w%s", err, orgAccessHint(err))
		}
		for _, r := range page.Roots {
			id := aws.ToString(r.Id)
			level = append(level, ou{id: id, path: "Root", chain: []string{id}})
		}
	}
	// Breadth first, one level at a time: AWS nests OUs at most five deep, so this is a few
	// rounds of parallel calls, and results land in per-OU slots in a fixed order.
	for len(level) > 0 {
		listings := make([]ouListing, len(level))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(parallel)
		for i, cur := range level {
			o.ous[cur.id] = cur
			o.byPath[cur.path] = cur.id
			g.Go(func() error {
				l, err := listOU(gctx, client, cur, o.management)
				listings[i] = l
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		var next []ou
		for _, l := range listings {
			next = append(next, l.children...)
			o.accounts = append(o.accounts, l.accounts...)
		}
		level = next
	}
	sort.Slice(o.accounts, func(i, j int) bool { return o.accounts[i].ID < o.accounts[j].ID })
	return o, nil
}

// listOU reads the OUs and accounts directly below one OU (or root).
func listOU(ctx context.Context, client Organizations, cur ou, management string) (ouListing, error) {
	var l ouListing
	children := organizations.NewListOrganizationalUnitsForParentPaginator(client, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(cur.id)})
	for children.HasMorePages() {
		page, err := children.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("list OUs in %s: %w", cur.path, err)
		}
		for _, c := range page.OrganizationalUnits {
			id := aws.ToString(c.Id)
			chain := append(append(make([]string, 0, len(cur.chain)+1), cur.chain...), id)
			l.children = append(l.children, ou{id: id, path: cur.path + "/" + aws.ToString(c.Name), chain: chain})
		}
	}
	accounts := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{ParentId: aws.String(cur.id)})
	for accounts.HasMorePages() {
		page, err := accounts.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("list accounts in %s: %w", cur.path, err)
		}
		for _, a := range page.Accounts {
			id := aws.ToString(a.Id)
			l.accounts = append(l.accounts, Account{
				ID: id, Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), Status: accountState(a),
				OUID: cur.id, OUPath: cur.path, Management: id == management, ouChain: cur.chain,
			})
		}
	}
	return l, nil
}

// accountState prefers State: AWS retires the Status field in September 2026, and only State
// has PENDING_ACTIVATION and CLOSED.
func accountState(a types.Account) string {
	if a.State != "" {
		return string(a.State)
	}
	return string(a.Status)
}

// orgAccessHint says what to do when the credentials cannot read the organization at all.
func orgAccessHint(err error) string {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return ""
	}
	switch api.ErrorCode() {
	case "AWSOrganizationsNotInUseException":
		return " (the credentials' account is in no organization: list the accounts in an accounts file instead)"
	case "AccessDeniedException", "AccessDenied":
		return " (reading the organization needs its management account or a delegated administrator; without that, list the accounts in an accounts file)"
	}
	return ""
}

// ReadTags reads the Organizations tags of the accounts that have none read yet (Tags is nil),
// in place, with at most parallel calls in flight; per-account parameters taken from tags
// need them when no tag filter made discovery read them.
func ReadTags(ctx context.Context, client organizations.ListTagsForResourceAPIClient, accounts []Account, parallel int) error {
	var missing []int
	for i := range accounts {
		if accounts[i].Tags == nil {
			missing = append(missing, i)
		}
	}
	sub := make([]Account, len(missing))
	for j, i := range missing {
		sub[j] = accounts[i]
	}
	if parallel < 1 {
		parallel = DefaultParallel
	}
	if err := readTags(ctx, client, sub, parallel); err != nil {
		return err
	}
	for j, i := range missing {
		accounts[i].Tags = sub[j].Tags
	}
	return nil
}

// AccountIDs lists every account of the organization, whatever its OU or state, for checks
// that an account named somewhere (a parameters file) exists at all.
func AccountIDs(ctx context.Context, client organizations.ListAccountsAPIClient) (map[string]bool, error) {
	out := map[string]bool{}
	pages := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organization's accounts: %w%s", err, orgAccessHint(err))
		}
		for _, a := range page.Accounts {
			out[aws.ToString(a.Id)] = true
		}
	}
	return out, nil
}

func readTags(ctx context.Context, client organizations.ListTagsForResourceAPIClient, accounts []Account, parallel int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range accounts {
		g.Go(func() error {
			tags := map[string]string{}
			pages := organizations.NewListTagsForResourcePaginator(client, &organizations.ListTagsForResourceInput{ResourceId: aws.String(accounts[i].ID)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return fmt.Errorf("list tags of account %s: %w", accounts[i].ID, err)
				}
				for _, t := range page.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			accounts[i].Tags = tags // each goroutine owns its own element
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
	if id, ok := o.byPath[normalizePath(ref)]; ok {
		return id, nil
	}
	known := slices.Sorted(maps.Keys(o.byPath))
	if len(known) > 10 {
		known = append(known[:10], "...")
	}
	return "", &InputError{Field: "--ou", Value: ref, Problem: fmt.Sprintf("unknown OU %q", ref),
		Fix: "give an OU ID (ou-...) or a path from the root; the organization has " + strings.Join(known, ", ")}
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
