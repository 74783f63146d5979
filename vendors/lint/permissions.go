// Permissions policies (managed and inline): what only they may hold (Resource, no
// Principal), Allow with NotAction on everything, and privilege escalation: the
// permissions-management actions allowed on every resource or on wildcard IAM resources.

package lint

import (
	"slices"
	"strings"
)

// escalation lists the actions that let a principal raise its own permissions when allowed
// broadly, with the IAM resource type each acts on. exemptBy names the condition key that,
// when a statement constrains it, scopes the action enough not to count (which boundary a
// created role gets, which policy may be attached).
var escalation = []struct {
	action   string
	kind     string
	exemptBy string
}{
	{"iam:PassRole", "role", ""},
	{"iam:CreatePolicyVersion", "policy", ""},
	{"iam:SetDefaultPolicyVersion", "policy", ""},
	{"iam:AttachRolePolicy", "role", "iam:PolicyARN"},
	{"iam:AttachUserPolicy", "user", "iam:PolicyARN"},
	{"iam:AttachGroupPolicy", "group", "iam:PolicyARN"},
	{"iam:PutRolePolicy", "role", ""},
	{"iam:PutUserPolicy", "user", ""},
	{"iam:PutGroupPolicy", "group", ""},
	{"iam:UpdateAssumeRolePolicy", "role", ""},
	{"iam:CreateRole", "role", "iam:PermissionsBoundary"},
	{"iam:CreateAccessKey", "user", ""},
	{"iam:CreateLoginProfile", "user", ""},
	{"iam:UpdateLoginProfile", "user", ""},
	{"iam:AddUserToGroup", "group", ""},
	{"iam:PutRolePermissionsBoundary", "role", "iam:PermissionsBoundary"},
	{"iam:PutUserPermissionsBoundary", "user", "iam:PermissionsBoundary"},
	{"iam:DeleteRolePermissionsBoundary", "role", ""},
	{"iam:DeleteUserPermissionsBoundary", "user", ""},
}

// identityPolicy lints a permissions policy (managed or inline).
func (c *checker) identityPolicy(where Finding, doc map[string]any, ctx grantContext) {
	for _, st := range c.document(where, doc, false) {
		w := st.where
		for _, k := range []string{"Principal", "NotPrincipal"} {
			if _, ok := st.raw[k]; ok {
				c.add(Error, RuleGrammar, w, "%s belongs in trust and resource policies, not in a permissions policy: remove it (the policy applies to whoever it is attached to)", k)
			}
		}
		if st.hasResource == st.hasNotResource {
			c.add(Error, RuleGrammar, w, "a permissions statement needs exactly one of Resource and NotResource (use \"*\" for every resource, or the ARNs it applies to)")
		}
		for _, r := range append(append([]string{}, st.resources...), st.notResources...) {
			if r != "*" && !validARN(r) {
				c.add(Error, RuleGrammar, w, "resource %q is not an ARN (arn:partition:service:region:account:resource) or \"*\"", r)
			}
		}
		if !st.allow || !ctx.grants {
			continue
		}
		onAll := st.hasNotResource
		for _, r := range st.resources {
			if r == "*" {
				onAll = true
			}
		}
		if onAll && st.hasNotAction {
			c.add(Warning, RuleNotActionOnAll, w, "NotAction %s with Allow on every resource allows every other action of every service, including ones AWS adds later: list the actions to allow in Action instead", strings.Join(st.notActions, ", "))
		}
		c.escalation(st, ctx)
	}
}

// escalation reports the permissions-management actions a statement allows on every resource
// (warning, info when every holder is bounded) or on wildcard IAM resources (info).
func (c *checker) escalation(st statement, ctx grantContext) {
	var broad, scoped, broadOn, scopedOn []string
	for _, e := range escalation {
		if !st.allows(e.action) || (e.exemptBy != "" && constrains(st.raw, e.exemptBy)) {
			continue
		}
		best, on := breadthNone, ""
		if st.hasNotResource {
			best, on = breadthAll, "every resource except "+strings.Join(st.notResources, ", ")+" (NotResource)"
		}
		for _, r := range st.resources {
			if b := iamBreadth(r, e.kind); b > best {
				best, on = b, r
			}
		}
		switch best {
		case breadthAll:
			broad, broadOn = append(broad, e.action), appendNew(broadOn, on)
		case breadthPattern:
			scoped = append(scoped, e.action)
			for _, r := range st.resources {
				if iamBreadth(r, e.kind) == breadthPattern {
					scopedOn = appendNew(scopedOn, r)
				}
			}
		}
	}
	bound := "no permissions boundary limits the roles that hold it"
	switch {
	case ctx.bounded():
		bound = "every role holding it (" + strings.Join(ctx.holders, ", ") + ") has a permissions boundary, which caps what it can grant itself; keep the boundary's own IAM statements tight"
	case ctx.unattached:
		bound = "it is attached to no role of this grant (the vendor attaches it to roles of its own), so no boundary here limits it"
	case len(ctx.boundaries) > 0:
		bound = "not every role holding it has a permissions boundary"
	}
	if len(broad) > 0 {
		sev := Warning
		if ctx.bounded() {
			sev = Info
		}
		c.add(sev, RuleEscalation, st.where, "allows %s on %s: whoever holds it can raise its own permissions (e.g. pass a more privileged role to a service, or rewrite a policy it holds); %s. Scope Resource to the vendor's own roles and policies (e.g. arn:aws:iam::ACCOUNT:role/VENDOR/*), add conditions (iam:PassedToService, iam:PermissionsBoundary, iam:PolicyARN), or set a permissions boundary on the roles",
			strings.Join(broad, ", "), describeBroad(broadOn), bound)
	}
	if len(scoped) > 0 {
		c.add(Info, RuleEscalation, st.where, "allows %s on IAM resources matching %s: the holder can pass, or change the permissions of, any matching role or policy, including ones it creates; %s",
			strings.Join(scoped, ", "), strings.Join(scopedOn, ", "), bound)
	}
}

func describeBroad(on []string) string {
	if len(on) == 1 && on[0] == "*" {
		return `every resource ("*")`
	}
	quoted := make([]string, len(on))
	for i, r := range on {
		quoted[i] = r
		if r == "*" {
			quoted[i] = `"*"`
		}
	}
	return "every resource of its type (" + strings.Join(quoted, ", ") + ")"
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

type breadth int

const (
	breadthNone    breadth = iota // not the IAM resource type, or one exact resource
	breadthPattern                // a wildcard within the type, e.g. role/StreamNative/*
	breadthAll                    // "*", or every IAM resource of the type, e.g. role/*
)

// iamBreadth says how much of the account's IAM resources of one type (role, policy, user,
// group) a Resource value covers.
func iamBreadth(r, kind string) breadth {
	if r == "*" {
		return breadthAll
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 6 || !Glob(strings.ToLower(parts[2]), "iam") {
		return breadthNone
	}
	res := parts[5]
	k, rest, hasSlash := strings.Cut(res, "/")
	switch {
	case res == "*":
		return breadthAll
	case strings.ContainsAny(k, "*?"):
		if Glob(strings.ToLower(k), kind) {
			return breadthAll
		}
		return breadthNone
	case !strings.EqualFold(k, kind) || !hasSlash:
		return breadthNone
	case strings.Trim(rest, "*") == "":
		return breadthAll
	case strings.ContainsAny(rest, "*?"):
		return breadthPattern
	}
	return breadthNone
}

// EscalationActions are the actions lint treats as privilege escalation when allowed broadly,
// so a plan can mark a change that newly allows one as lint would.
func EscalationActions() []string {
	out := make([]string, len(escalation))
	for i, e := range escalation {
		out[i] = e.action
	}
	return out
}
