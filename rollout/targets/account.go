package targets

import (
	"context"
	"fmt"
)

// Lookup is one account as a filter sees it right now.
type Lookup struct {
	// Account is what the organization says about the account (with its tags when the filter
	// has a tag filter or WithTags was given); only its ID when it is not in the organization.
	Account Account `json:"account"`
	// InOrganization is false when the organization does not list the account (it left, was
	// closed and removed, or has not joined yet).
	InOrganization bool `json:"inOrganization"`
	// Target says the filter selects the account and it is ACTIVE: it should be onboarded.
	Target bool `json:"target"`
	// Reason says why an account in the organization is not a target: not selected by the
	// filters, or skipped (excluded, suspended, the management account).
	Reason string `json:"reason,omitempty"`
}

// DiscoverAccount reads the organization now and classifies one account with the filter,
// exactly as Discover would, reading tags only for that account. It is for event-driven
// callers, which must not trust what an event says about an account's OU or tags. Unlike
// Discover, an account the filter names with Accounts need not be in the organization: an
// event about an account that has left must not turn into an input error.
func DiscoverAccount(ctx context.Context, client Organizations, f Filter, id string, opts ...Option) (Lookup, error) {
	o := options{parallel: DefaultParallel}
	for _, opt := range opts {
		opt(&o)
	}
	if o.parallel < 1 {
		o.parallel = DefaultParallel
	}
	if err := ValidateAccountID(id); err != nil {
		return Lookup{}, err
	}
	if err := f.Validate(); err != nil {
		return Lookup{}, err
	}
	tree, err := readOrg(ctx, client, o.parallel)
	if err != nil {
		return Lookup{}, err
	}
	include, err := tree.resolveOUs(f.OUs)
	if err != nil {
		return Lookup{}, inField(err, "--ou")
	}
	exclude, err := tree.resolveOUs(f.ExcludeOUs)
	if err != nil {
		return Lookup{}, inField(err, "--exclude-ou")
	}
	var found []Account
	for _, a := range tree.accounts {
		if a.ID == id {
			found = append(found, a)
		}
	}
	if len(found) == 0 {
		return Lookup{Account: Account{ID: id}}, nil
	}
	inOU := func(a Account, ous map[string]bool) bool {
		for _, ouID := range a.ouChain {
			if ous[ouID] {
				return true
			}
		}
		return false
	}
	candidates := selected(found, f, inOU, include)
	if len(candidates) == 0 {
		return Lookup{Account: found[0], InOrganization: true, Reason: "not selected by --ou/--account"}, nil
	}
	if len(f.AccountTags) > 0 || o.tags {
		if err := readTags(ctx, client, candidates, 1); err != nil {
			return Lookup{}, err
		}
	}
	res := classify(candidates, f, inOU, exclude)
	switch {
	case len(res.Targets) == 1:
		return Lookup{Account: res.Targets[0], InOrganization: true, Target: true}, nil
	case len(res.Skipped) == 1:
		return Lookup{Account: res.Skipped[0].Account, InOrganization: true, Reason: res.Skipped[0].Reason}, nil
	default:
		return Lookup{Account: candidates[0], InOrganization: true, Reason: fmt.Sprintf("does not carry the tags of --account-tag %v", f.AccountTags)}, nil
	}
}
