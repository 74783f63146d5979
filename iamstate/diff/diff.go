package diff

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/iamstate"
)

// Op says whether a line grants (+), takes away (-) or changes (~) something.
type Op string

// Ops.
const (
	Added   Op = "+"
	Removed Op = "-"
	Changed Op = "~"
)

// What a line is about.
const (
	WhatRole           = "role"
	WhatPolicy         = "policy"
	WhatInlinePolicy   = "inline-policy"
	WhatAction         = "action"
	WhatResource       = "resource"
	WhatCondition      = "condition"
	WhatStatement      = "statement"
	WhatPrincipal      = "principal"
	WhatTrustCondition = "trust-condition"
	WhatTrustStatement = "trust-statement"
	WhatAttachment     = "attachment"
	WhatBoundary       = "boundary"
	WhatPath           = "path"
	WhatDescription    = "description"
	WhatMaxSession     = "max-session-duration"
	WhatTag            = "tag"
)

// Line is one change of one role or policy.
type Line struct {
	// Resource is "role/NAME", "policy/NAME" or "role/NAME/inline/POLICY".
	Resource string `json:"resource"`
	Op       Op     `json:"op"`
	// What is one of the What* constants.
	What string `json:"what"`
	// Item is the action, ARN, principal, condition ("test variable=value"), statement (as
	// canonical JSON) or value the line adds or removes; for Changed, "old → new".
	Item string `json:"item,omitempty"`
	// Flag says why lint would flag this expansion (a new iam:PassRole, a new wildcard, a new
	// principal, a lost external ID); empty for a change lint would not mind.
	Flag string `json:"flag,omitempty"`
}

func (l Line) String() string {
	s := fmt.Sprintf("%s: %s %s", l.Resource, l.Op, l.What)
	if l.Item != "" {
		s += " " + l.Item
	}
	if l.Flag != "" {
		s += "  [! " + l.Flag + "]"
	}
	return s
}

// Account is what changes in one account: every Line, roles then policies, each in name order.
type Account struct {
	AccountID string `json:"accountId"`
	Lines     []Line `json:"lines"`
}

// Empty says nothing changes.
func (a *Account) Empty() bool { return len(a.Lines) == 0 }

// Flagged are the lines lint would flag.
func (a *Account) Flagged() []Line {
	var out []Line
	for _, l := range a.Lines {
		if l.Flag != "" {
			out = append(out, l)
		}
	}
	return out
}

// Compare returns what changes from old to new. A nil old is an account with nothing of the
// vendor's yet (every role and policy is created); a nil new is an offboarding.
func Compare(old, new *iamstate.Account) *Account {
	id := ""
	switch {
	case new != nil:
		id = new.AccountID
	case old != nil:
		id = old.AccountID
	}
	old, new = orEmpty(old, id), orEmpty(new, id)
	d := &Account{AccountID: id, Lines: []Line{}}
	for _, name := range unionKeys(old.Roles, new.Roles) {
		o, inOld := old.Roles[name]
		n, inNew := new.Roles[name]
		res := "role/" + name
		switch {
		case !inOld:
			d.add(res, Added, WhatRole, "", "")
			d.role(res, iamstate.Role{}, n)
		case !inNew:
			d.add(res, Removed, WhatRole, "", "")
		default:
			d.role(res, o, n)
		}
	}
	for _, name := range unionKeys(old.Policies, new.Policies) {
		o, inOld := old.Policies[name]
		n, inNew := new.Policies[name]
		res := "policy/" + name
		switch {
		case !inOld:
			d.add(res, Added, WhatPolicy, "", "")
			d.document(res, nil, n.Document)
		case !inNew:
			d.add(res, Removed, WhatPolicy, "", "")
		default:
			d.changed(res, WhatPath, o.Path, n.Path)
			d.changed(res, WhatDescription, o.Description, n.Description)
			d.document(res, o.Document, n.Document)
			d.tags(res, o.Tags, n.Tags)
		}
	}
	return d
}

func orEmpty(a *iamstate.Account, id string) *iamstate.Account {
	if a != nil {
		return a
	}
	return &iamstate.Account{AccountID: id}
}

func (d *Account) add(res string, op Op, what, item, flag string) {
	d.Lines = append(d.Lines, Line{Resource: res, Op: op, What: what, Item: item, Flag: flag})
}

func (d *Account) changed(res, what, old, new string) {
	if old != new {
		d.add(res, Changed, what, fmt.Sprintf("%q → %q", old, new), "")
	}
}

// role compares two roles; a created role is compared with the zero Role, so its principals,
// attachments and boundary are listed as added.
func (d *Account) role(res string, o, n iamstate.Role) {
	created := o.TrustPolicy == nil
	if !created {
		d.changed(res, WhatPath, o.Path, n.Path)
		d.changed(res, WhatDescription, o.Description, n.Description)
		if o.MaxSessionDuration != n.MaxSessionDuration {
			d.add(res, Changed, WhatMaxSession, fmt.Sprintf("%d s → %d s", o.MaxSessionDuration, n.MaxSessionDuration), "")
		}
	}
	d.trust(res, o.TrustPolicy, n.TrustPolicy)
	switch ob, nb := deref(o.PermissionsBoundary), deref(n.PermissionsBoundary); {
	case ob == nb:
	case ob == "":
		d.add(res, Added, WhatBoundary, nb, "")
	case nb == "":
		d.add(res, Removed, WhatBoundary, ob, "permissions boundary removed: nothing caps what the role's policies allow")
	default:
		d.add(res, Changed, WhatBoundary, ob+" → "+nb, "")
	}
	added, removed := iamstate.Difference(n.AttachedPolicies, o.AttachedPolicies)
	for _, a := range added {
		d.add(res, Added, WhatAttachment, a, "")
	}
	for _, a := range removed {
		d.add(res, Removed, WhatAttachment, a, "")
	}
	for _, name := range unionKeys(o.InlinePolicies, n.InlinePolicies) {
		od, inOld := o.InlinePolicies[name]
		nd, inNew := n.InlinePolicies[name]
		ires := res + "/inline/" + name
		switch {
		case !inOld:
			d.add(ires, Added, WhatInlinePolicy, "", "")
			d.document(ires, nil, nd)
		case !inNew:
			d.add(ires, Removed, WhatInlinePolicy, "", "")
		default:
			d.document(ires, od, nd)
		}
	}
	if !created {
		d.tags(res, o.Tags, n.Tags)
	}
}

func (d *Account) tags(res string, o, n map[string]string) {
	for _, k := range unionKeys(o, n) {
		ov, inOld := o[k]
		nv, inNew := n[k]
		switch {
		case !inOld:
			d.add(res, Added, WhatTag, k+"="+nv, "")
		case !inNew:
			d.add(res, Removed, WhatTag, k+"="+ov, "")
		case ov != nv:
			d.add(res, Changed, WhatTag, k+": "+ov+" → "+nv, "")
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func unionKeys[V any](a, b map[string]V) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// sortedItems is a set's display forms in order.
func sortedItems(set map[string]string) []string {
	out := make([]string, 0, len(set))
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, set[k])
	}
	return out
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }
