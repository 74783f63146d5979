package verify

import (
	"fmt"
	"maps"
	"slices"

	"github.com/byoc-access/byoc-access/iamstate"
)

// Kind names a kind of drift; reports and tests branch on it.
type Kind string

// Drift kinds.
const (
	RoleMissing            Kind = "role-missing"
	PolicyMissing          Kind = "policy-missing"
	TrustPrincipalAdded    Kind = "trust-principal-added"
	TrustPrincipalRemoved  Kind = "trust-principal-removed"
	TrustExternalIDMissing Kind = "trust-external-id-missing"
	TrustConditionChanged  Kind = "trust-condition-changed"
	TrustStatementChanged  Kind = "trust-statement-changed"
	ActionsAdded           Kind = "actions-added"
	ActionsRemoved         Kind = "actions-removed"
	StatementsChanged      Kind = "statements-changed"
	AttachmentMissing      Kind = "attachment-missing"
	AttachmentExtra        Kind = "attachment-extra"
	BoundaryMissing        Kind = "boundary-missing"
	BoundaryChanged        Kind = "boundary-changed"
	TagsDiffer             Kind = "tags-differ"
	PathDiffers            Kind = "path-differs"
	DescriptionDiffers     Kind = "description-differs"
	MaxSessionDiffers      Kind = "max-session-duration-differs"
	InlinePolicyMissing    Kind = "inline-policy-missing"
	InlinePolicyExtra      Kind = "inline-policy-extra"
	InlinePolicyChanged    Kind = "inline-policy-changed"
)

// Finding is one difference between the spec and the account.
type Finding struct {
	AccountID string `json:"accountId"`
	Kind      Kind   `json:"kind"`
	// Resource is "role/NAME" or "policy/NAME".
	Resource string `json:"resource"`
	// Detail says what differs in a sentence.
	Detail string `json:"detail"`
	// Want and Got are the items that differ, when there is a list of them.
	Want []string `json:"want,omitempty"`
	Got  []string `json:"got,omitempty"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s: %s", f.Resource, f.Kind, f.Detail)
}

// Compare returns every difference between want (render) and got (snapshot), in a stable
// order. No findings means the account grants exactly what the spec says.
func Compare(want, got *iamstate.Account) []Finding {
	c := &comparer{account: want.AccountID}
	for _, name := range slices.Sorted(maps.Keys(want.Policies)) {
		wp := want.Policies[name]
		gp, ok := got.Policies[name]
		res := "policy/" + name
		if !ok {
			c.add(PolicyMissing, res, "the policy does not exist in the account", nil, nil)
			continue
		}
		if wp.Path != gp.Path {
			c.add(PathDiffers, res, fmt.Sprintf("path is %q, want %q", gp.Path, wp.Path), nil, nil)
		}
		if wp.Description != gp.Description {
			c.add(DescriptionDiffers, res, fmt.Sprintf("description is %q, want %q", gp.Description, wp.Description), nil, nil)
		}
		c.documents(res, wp.Document, gp.Document)
		c.tags(res, wp.Tags, gp.Tags)
	}
	for _, name := range slices.Sorted(maps.Keys(want.Roles)) {
		wr := want.Roles[name]
		gr, ok := got.Roles[name]
		res := "role/" + name
		if !ok {
			c.add(RoleMissing, res, "the role does not exist in the account", nil, nil)
			continue
		}
		if wr.Path != gr.Path {
			c.add(PathDiffers, res, fmt.Sprintf("path is %q, want %q", gr.Path, wr.Path), nil, nil)
		}
		if wr.Description != gr.Description {
			c.add(DescriptionDiffers, res, fmt.Sprintf("description is %q, want %q", gr.Description, wr.Description), nil, nil)
		}
		if wr.MaxSessionDuration != gr.MaxSessionDuration {
			c.add(MaxSessionDiffers, res, fmt.Sprintf("max session duration is %d s, want %d s", gr.MaxSessionDuration, wr.MaxSessionDuration), nil, nil)
		}
		c.trust(res, wr.TrustPolicy, gr.TrustPolicy)
		c.boundary(res, wr.PermissionsBoundary, gr.PermissionsBoundary)
		missing, extra := iamstate.Difference(wr.AttachedPolicies, gr.AttachedPolicies)
		if len(missing) > 0 {
			c.add(AttachmentMissing, res, fmt.Sprintf("%d attached policies are missing", len(missing)), missing, nil)
		}
		if len(extra) > 0 {
			c.add(AttachmentExtra, res, fmt.Sprintf("%d policies are attached that the spec does not grant", len(extra)), nil, extra)
		}
		for _, n := range slices.Sorted(maps.Keys(wr.InlinePolicies)) {
			g, ok := gr.InlinePolicies[n]
			if !ok {
				c.add(InlinePolicyMissing, res, fmt.Sprintf("inline policy %s is missing", n), []string{n}, nil)
				continue
			}
			if !equalDocs(wr.InlinePolicies[n], g) {
				c.add(InlinePolicyChanged, res, fmt.Sprintf("inline policy %s differs", n), nil, nil)
				c.documents(res+"/inline/"+n, wr.InlinePolicies[n], g)
			}
		}
		for _, n := range slices.Sorted(maps.Keys(gr.InlinePolicies)) {
			if _, ok := wr.InlinePolicies[n]; !ok {
				c.add(InlinePolicyExtra, res, fmt.Sprintf("inline policy %s is not in the spec", n), nil, []string{n})
			}
		}
		c.tags(res, wr.Tags, gr.Tags)
	}
	return c.out
}

type comparer struct {
	account string
	out     []Finding
}

func (c *comparer) add(k Kind, res, detail string, want, got []string) {
	c.out = append(c.out, Finding{AccountID: c.account, Kind: k, Resource: res, Detail: detail, Want: want, Got: got})
}

func (c *comparer) boundary(res string, want, got *string) {
	switch {
	case want == nil && got == nil:
	case want != nil && got == nil:
		c.add(BoundaryMissing, res, "the permissions boundary is missing", []string{*want}, nil)
	case want == nil && got != nil:
		c.add(BoundaryChanged, res, "a permissions boundary is set that the spec does not have", nil, []string{*got})
	case *want != *got:
		c.add(BoundaryChanged, res, "the permissions boundary is a different policy", []string{*want}, []string{*got})
	}
}

func (c *comparer) tags(res string, want, got map[string]string) {
	var w, g []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			w = append(w, k+"="+want[k])
			if v, ok := got[k]; ok {
				g = append(g, k+"="+v)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			g = append(g, k+"="+got[k])
		}
	}
	if len(w)+len(g) > 0 {
		c.add(TagsDiffer, res, "tags differ", w, g)
	}
}

// documents compares two identity policy documents: first as a whole, then as sets of
// allowed actions, so "someone added s3:*" reads as such.
func (c *comparer) documents(res string, want, got any) {
	if equalDocs(want, got) {
		return
	}
	wa, ga := allowedActions(want), allowedActions(got)
	added, removed := iamstate.Difference(ga, wa)
	if len(added) > 0 {
		c.add(ActionsAdded, res, fmt.Sprintf("%d actions are allowed that the spec does not grant", len(added)), nil, added)
	}
	if len(removed) > 0 {
		c.add(ActionsRemoved, res, fmt.Sprintf("%d actions the spec grants are no longer allowed", len(removed)), removed, nil)
	}
	if len(added)+len(removed) == 0 {
		only, extra := iamstate.Difference(iamstate.CanonicalStatements(want), iamstate.CanonicalStatements(got))
		c.add(StatementsChanged, res, "statements differ (resources, conditions or effects)", only, extra)
	}
}

// trust compares trust policies principal by principal and condition by condition.
func (c *comparer) trust(res string, want, got any) {
	if equalDocs(want, got) {
		return
	}
	wp, gp := principals(want), principals(got)
	added, removed := iamstate.Difference(gp, wp)
	if len(added) > 0 {
		c.add(TrustPrincipalAdded, res, fmt.Sprintf("the trust policy trusts %d principals the spec does not", len(added)), nil, added)
	}
	if len(removed) > 0 {
		c.add(TrustPrincipalRemoved, res, fmt.Sprintf("the trust policy no longer trusts %d of the vendor's principals", len(removed)), removed, nil)
	}
	wc, gc := conditions(want), conditions(got)
	missing, extra := iamstate.Difference(wc, gc)
	external := filter(missing, "sts:ExternalId")
	lostExternalID := len(external) > 0 && len(filter(gc, "sts:ExternalId")) == 0
	if lostExternalID {
		// Named on its own: losing the external ID reopens the confused-deputy problem.
		c.add(TrustExternalIDMissing, res, "the trust policy no longer requires the vendor's external ID (sts:ExternalId)", external, nil)
		missing = without(missing, "sts:ExternalId")
	}
	if len(missing)+len(extra) > 0 {
		c.add(TrustConditionChanged, res, "trust policy conditions differ", missing, extra)
	}
	if len(added)+len(removed)+len(missing)+len(extra) == 0 && !lostExternalID {
		only, more := iamstate.Difference(iamstate.CanonicalStatements(want), iamstate.CanonicalStatements(got))
		c.add(TrustStatementChanged, res, "trust statements differ (actions, effects or Sids)", only, more)
	}
}
