package diff

// Policy documents and trust policies, compared as what they grant: sets of actions,
// resources and conditions, normalised as IAM reads them (action names in any case are the
// same action; an action or resource matched by a wildcard the same side already has adds
// nothing), and the statements a change adds or removes whole.

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/vendors/lint"
)

// items are a document's grants as sets keyed by their normalised form, with the form to show.
type items struct {
	actions, resources, conditions map[string]string
}

// elements lists the items of one statement. Deny statements' items read "Deny ...", and
// NotAction/NotResource entries say so, since they grant the opposite of their text.
func elements(st map[string]any) (actions, resources, conditions []string) {
	prefix := ""
	if st["Effect"] == "Deny" {
		prefix = "Deny "
	}
	for _, a := range iamstate.Strings(st["Action"]) {
		actions = append(actions, prefix+a)
	}
	for _, a := range iamstate.Strings(st["NotAction"]) {
		actions = append(actions, prefix+"NotAction "+a)
	}
	for _, r := range iamstate.Strings(st["Resource"]) {
		resources = append(resources, prefix+r)
	}
	for _, r := range iamstate.Strings(st["NotResource"]) {
		resources = append(resources, prefix+"NotResource "+r)
	}
	cond, _ := st["Condition"].(map[string]any)
	for _, test := range slices.Sorted(maps.Keys(cond)) {
		vars, _ := cond[test].(map[string]any)
		for _, v := range slices.Sorted(maps.Keys(vars)) {
			for _, val := range iamstate.Strings(vars[v]) {
				conditions = append(conditions, fmt.Sprintf("%s%s %s=%s", prefix, test, v, val))
			}
		}
	}
	return actions, resources, conditions
}

func collect(doc any) items {
	var a, r, c []string
	for _, st := range iamstate.Statements(doc) {
		sa, sr, sc := elements(st)
		a, r, c = append(a, sa...), append(r, sr...), append(c, sc...)
	}
	return items{actions: normalise(a, true), resources: normalise(r, false), conditions: normalise(c, false)}
}

// normalise keys each item by its comparable form (action names fold case, as IAM's do) and
// drops the items a wildcard of the same set already matches.
func normalise(list []string, fold bool) map[string]string {
	set := map[string]string{}
	for _, it := range list {
		k := it
		if fold {
			k = strings.ToLower(it)
		}
		set[k] = it
	}
	for k := range set {
		for w := range set {
			if w != k && hasWildcard(w) && lint.Glob(w, k) {
				delete(set, k)
				break
			}
		}
	}
	return set
}

// covered says whether a set grants key already: the same item, or a wildcard matching it.
func covered(key string, set map[string]string) bool {
	if _, ok := set[key]; ok {
		return true
	}
	for w := range set {
		if hasWildcard(w) && lint.Glob(w, key) {
			return true
		}
	}
	return false
}

// delta returns the items of n that o does not grant, and of o that n does not, each as shown.
func delta(o, n map[string]string) (added, removed []string) {
	for k, v := range n {
		if !covered(k, o) {
			added = append(added, v)
		}
	}
	for k, v := range o {
		if !covered(k, n) {
			removed = append(removed, v)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// document compares two identity policy documents (nil old: a new policy). Statements added
// or removed whole are listed as statements; the actions, resources and conditions they hold
// are not listed again, so each change is named once.
func (d *Account) document(res string, o, n any) {
	if o != nil && equalDocs(o, n) {
		return
	}
	addedSt, removedSt := statementChanges(o, n)
	oi, ni := collect(o), collect(n)
	inAdded, inRemoved := newItems(), newItems()
	for _, st := range addedSt {
		d.add(res, Added, WhatStatement, iamstate.CanonicalStatement(st), statementFlag(st, oi))
		inAdded.addStatement(st)
	}
	for _, st := range removedSt {
		d.add(res, Removed, WhatStatement, iamstate.CanonicalStatement(st), "")
		inRemoved.addStatement(st)
	}
	for _, k := range []struct {
		what           string
		o, n, inA, inR map[string]string
		fold           bool
	}{
		{WhatAction, oi.actions, ni.actions, inAdded.actions, inRemoved.actions, true},
		{WhatResource, oi.resources, ni.resources, inAdded.resources, inRemoved.resources, false},
		{WhatCondition, oi.conditions, ni.conditions, inAdded.conditions, inRemoved.conditions, false},
	} {
		added, removed := delta(k.o, k.n)
		for _, it := range added {
			if _, shown := k.inA[key(it, k.fold)]; !shown {
				d.add(res, Added, k.what, it, grantFlag(k.what, it))
			}
		}
		for _, it := range removed {
			if _, shown := k.inR[key(it, k.fold)]; !shown {
				d.add(res, Removed, k.what, it, "")
			}
		}
	}
}

func key(it string, fold bool) string {
	if fold {
		return strings.ToLower(it)
	}
	return it
}

func newItems() items {
	return items{actions: map[string]string{}, resources: map[string]string{}, conditions: map[string]string{}}
}

func (it items) addStatement(st map[string]any) {
	a, r, c := elements(st)
	for _, x := range a {
		it.actions[strings.ToLower(x)] = x
	}
	for _, x := range r {
		it.resources[x] = x
	}
	for _, x := range c {
		it.conditions[x] = x
	}
}

// statementChanges pairs the statements of two documents: equal ones are unchanged, and of
// the rest, two with the same Sid are one statement changed (its items are compared in the
// sets); what is left was added or removed whole.
func statementChanges(o, n any) (added, removed []map[string]any) {
	os, ns := iamstate.Statements(o), iamstate.Statements(n)
	oc := map[string]int{}
	for _, st := range os {
		oc[iamstate.CanonicalStatement(st)]++
	}
	var restN []map[string]any
	for _, st := range ns {
		c := iamstate.CanonicalStatement(st)
		if oc[c] > 0 {
			oc[c]--
			continue
		}
		restN = append(restN, st)
	}
	var restO []map[string]any
	for _, st := range os {
		c := iamstate.CanonicalStatement(st)
		if oc[c] > 0 {
			oc[c]--
			restO = append(restO, st)
		}
	}
	sids := func(list []map[string]any) map[string]bool {
		out := map[string]bool{}
		for _, st := range list {
			if s, _ := st["Sid"].(string); s != "" {
				out[s] = true
			}
		}
		return out
	}
	oSids, nSids := sids(restO), sids(restN)
	// Statements without a Sid pair up when they have the same effect and share an action or a
	// resource: one action added to a statement reads as that action, not as a new statement.
	paired := map[int]bool{}
	for _, st := range restN {
		s, _ := st["Sid"].(string)
		switch {
		case s != "" && oSids[s]:
			continue
		case s == "":
			if j := partner(st, restO, paired); j >= 0 {
				paired[j] = true
				continue
			}
		}
		added = append(added, st)
	}
	for j, st := range restO {
		if s, _ := st["Sid"].(string); (s == "" && !paired[j]) || (s != "" && !nSids[s]) {
			removed = append(removed, st)
		}
	}
	return added, removed
}

// partner is the first unpaired Sid-less statement of olds that st changes, or -1.
func partner(st map[string]any, olds []map[string]any, paired map[int]bool) int {
	a, r, _ := elements(st)
	for j, o := range olds {
		if s, _ := o["Sid"].(string); s != "" || paired[j] || o["Effect"] != st["Effect"] {
			continue
		}
		oa, or, _ := elements(o)
		if overlaps(a, oa) || overlaps(r, or) {
			return j
		}
	}
	return -1
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// trust compares trust policies principal by principal and condition by condition.
func (d *Account) trust(res string, o, n any) {
	if o != nil && equalDocs(o, n) {
		return
	}
	addedP, removedP := iamstate.Difference(principals(n), principals(o))
	for _, p := range addedP {
		flag := "new trust principal: it can assume the role"
		if p == "AWS:*" || p == "*:*" {
			flag = "anyone can assume the role (Principal *)"
		}
		d.add(res, Added, WhatPrincipal, p, flag)
	}
	for _, p := range removedP {
		d.add(res, Removed, WhatPrincipal, p, "")
	}
	oc, nc := collect(o).conditions, collect(n).conditions
	addedC, removedC := iamstate.Difference(sortedItems(nc), sortedItems(oc))
	for _, c := range addedC {
		d.add(res, Added, WhatTrustCondition, c, "")
	}
	for _, c := range removedC {
		flag := ""
		if strings.Contains(c, "sts:ExternalId") {
			flag = "the external ID is no longer required (confused deputy)"
		}
		d.add(res, Removed, WhatTrustCondition, c, flag)
	}
	if o == nil || len(addedP)+len(removedP)+len(addedC)+len(removedC) > 0 {
		return
	}
	// Neither principals nor conditions changed: the actions, effects or Sids did.
	added, removed := iamstate.Difference(iamstate.CanonicalStatements(n), iamstate.CanonicalStatements(o))
	for _, s := range added {
		d.add(res, Added, WhatTrustStatement, s, "")
	}
	for _, s := range removed {
		d.add(res, Removed, WhatTrustStatement, s, "")
	}
}

func principals(doc any) []string {
	var out []string
	for _, s := range iamstate.Statements(doc) {
		switch p := s["Principal"].(type) {
		case string:
			out = append(out, "*:"+p)
		case map[string]any:
			for typ, ids := range p {
				for _, id := range iamstate.Strings(ids) {
					out = append(out, typ+":"+id)
				}
			}
		}
	}
	return out
}

func equalDocs(a, b any) bool {
	return slices.Equal(iamstate.CanonicalStatements(a), iamstate.CanonicalStatements(b))
}

// grantFlag says why lint would flag an item a policy newly allows.
func grantFlag(what, it string) string {
	if strings.HasPrefix(it, "Deny ") {
		return ""
	}
	switch what {
	case WhatAction:
		if esc := escalates(it); esc != "" {
			return "allows " + esc + " (privilege escalation, " + lint.RuleEscalation + ")"
		}
		if hasWildcard(it) {
			return "new wildcard action"
		}
	case WhatResource:
		if hasWildcard(it) {
			return "new wildcard resource"
		}
	}
	return ""
}

// statementFlag is grantFlag for a statement added whole: what lint would flag among the
// items the document did not grant before (old).
func statementFlag(st map[string]any, old items) string {
	a, r, _ := elements(st)
	var flags []string
	for _, x := range a {
		if f := grantFlag(WhatAction, x); f != "" && !covered(strings.ToLower(x), old.actions) && !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	for _, x := range r {
		if f := grantFlag(WhatResource, x); f != "" && !covered(x, old.resources) && !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	return strings.Join(flags, "; ")
}

// escalates names the escalation action an allowed action (or wildcard) grants, or "".
func escalates(action string) string {
	a := strings.ToLower(action)
	if strings.HasPrefix(a, "notaction ") {
		return ""
	}
	for _, e := range lint.EscalationActions() {
		if lint.Glob(a, strings.ToLower(e)) {
			return e
		}
	}
	return ""
}
