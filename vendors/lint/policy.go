package lint

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

var (
	iamNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	sidPattern     = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	servicePattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	actionPattern  = regexp.MustCompile(`^[A-Za-z0-9*?-]+$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// conditionOperators are IAM's condition operators, without the ForAnyValue:/ForAllValues:
// prefixes and the IfExists suffix that most of them take.
var conditionOperators = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true, "StringNotEqualsIgnoreCase": true,
	"StringLike": true, "StringNotLike": true,
	"NumericEquals": true, "NumericNotEquals": true, "NumericLessThan": true, "NumericLessThanEquals": true,
	"NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"DateEquals": true, "DateNotEquals": true, "DateLessThan": true, "DateLessThanEquals": true,
	"DateGreaterThan": true, "DateGreaterThanEquals": true,
	"Bool": true, "BinaryEquals": true, "IpAddress": true, "NotIpAddress": true,
	"ArnEquals": true, "ArnLike": true, "ArnNotEquals": true, "ArnNotLike": true,
	"Null": true,
}

// validOperator reports whether op is an IAM condition operator, with an optional
// ForAnyValue:/ForAllValues: prefix and IfExists suffix (Null takes neither).
func validOperator(op string) bool {
	base, set := strings.CutPrefix(op, "ForAnyValue:")
	if !set {
		base, set = strings.CutPrefix(op, "ForAllValues:")
	}
	base, ifExists := strings.CutSuffix(base, "IfExists")
	if base == "Null" {
		return !set && !ifExists
	}
	return conditionOperators[base]
}

// suggestOperator names the operator a misspelt one probably meant, or "".
func suggestOperator(op string) string {
	lower := strings.ToLower(op)
	for _, prefix := range []string{"", "ForAnyValue:", "ForAllValues:"} {
		for base := range conditionOperators {
			for _, suffix := range []string{"", "IfExists"} {
				if cand := prefix + base + suffix; strings.ToLower(cand) == lower && validOperator(cand) {
					return cand
				}
			}
		}
	}
	return ""
}

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

// statement is one parsed statement of a policy document.
type statement struct {
	where Finding
	raw   map[string]any
	allow bool
	// actions and notActions are the values of Action and NotAction; has* say which is set.
	actions, notActions         []string
	hasAction, hasNotAction     bool
	resources, notResources     []string
	hasResource, hasNotResource bool
}

var (
	topLevelKeys  = map[string]bool{"Version": true, "Id": true, "Statement": true}
	statementKeys = map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
		"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}
	principalTypes = map[string]bool{"AWS": true, "Service": true, "Federated": true, "CanonicalUser": true}
)

// document checks what identity and trust policies share (Version, Statement, Sid, Effect,
// Action, Condition) and returns the statements for the checks specific to each kind.
func (c *checker) document(where Finding, doc map[string]any, trust bool) []statement {
	if len(doc) == 0 {
		c.add(Error, RuleGrammar, where, "the policy document is empty: it needs Version \"2012-10-17\" and a Statement list")
		return nil
	}
	for _, k := range sortedKeys(doc) {
		if !topLevelKeys[k] {
			c.add(Error, RuleGrammar, where, "unknown top-level element %q: a policy has only Version, Id and Statement (check the spelling and case)", k)
		}
	}
	switch v, ok := doc["Version"]; {
	case !ok:
		c.add(Warning, RuleGrammar, where, "no Version: IAM then applies 2008-10-17, in which policy variables such as ${aws:username} are literal text; add Version \"2012-10-17\"")
	case v == "2008-10-17":
		c.add(Warning, RuleGrammar, where, "Version 2008-10-17 treats policy variables such as ${aws:username} as literal text; use \"2012-10-17\"")
	case v != "2012-10-17":
		c.add(Error, RuleGrammar, where, "Version %v does not exist; use \"2012-10-17\" (a date string, not a number)", jsonText(v))
	}
	var raw []any
	switch s := doc["Statement"].(type) {
	case []any:
		raw = s
	case map[string]any:
		raw = []any{s}
	case nil:
		c.add(Error, RuleGrammar, where, "no Statement: a policy needs at least one statement")
		return nil
	default:
		c.add(Error, RuleGrammar, where, "Statement must be a list of statements, not %s", jsonText(s))
		return nil
	}
	if len(raw) == 0 {
		c.add(Error, RuleGrammar, where, "Statement is empty: a policy needs at least one statement")
	}
	var out []statement
	sids := map[string]bool{}
	for i, el := range raw {
		w := where
		w.Statement = fmt.Sprintf("#%d", i)
		m, ok := el.(map[string]any)
		if !ok {
			c.add(Error, RuleGrammar, w, "a statement must be an object, not %s", jsonText(el))
			continue
		}
		if sid, ok := m["Sid"].(string); ok && sid != "" {
			w.Statement = sid
		}
		st := statement{where: w, raw: m}
		for _, k := range sortedKeys(m) {
			if !statementKeys[k] {
				c.add(Error, RuleGrammar, w, "unknown statement element %q: a statement has Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource and Condition (check the spelling and case)", k)
			}
		}
		if v, ok := m["Sid"]; ok {
			switch sid, isStr := v.(string); {
			case !isStr:
				c.add(Error, RuleGrammar, w, "Sid must be a string, not %s", jsonText(v))
			case sid == "":
				c.add(Info, RuleEmptySid, w, "empty Sid (\"Sid\": \"\"): it is valid, but a descriptive Sid such as AllowPassRoleToEKS lets reviewers and audit tools refer to the statement; set one or drop the element")
			case !sidPattern.MatchString(sid):
				c.add(Error, RuleGrammar, w, "Sid %q: IAM accepts only ASCII letters and digits in a Sid; remove the other characters", sid)
			case sids[sid]:
				c.add(Error, RuleDuplicateSid, w, "Sid %q is used by another statement of this policy; IAM requires Sids to be unique within a policy: rename one", sid)
			}
			if sid, isStr := v.(string); isStr && sid != "" {
				sids[sid] = true
			}
		}
		switch e := m["Effect"]; e {
		case "Allow":
			st.allow = true
		case "Deny":
		case nil:
			c.add(Error, RuleGrammar, w, "no Effect: set Effect to \"Allow\" or \"Deny\"")
		default:
			c.add(Error, RuleGrammar, w, "Effect %s: use \"Allow\" or \"Deny\" (case-sensitive)", jsonText(e))
		}
		st.actions, st.hasAction = c.stringList(w, m, "Action")
		st.notActions, st.hasNotAction = c.stringList(w, m, "NotAction")
		if st.hasAction == st.hasNotAction {
			c.add(Error, RuleGrammar, w, "a statement needs exactly one of Action and NotAction")
		}
		for _, a := range append(append([]string{}, st.actions...), st.notActions...) {
			c.action(w, a, trust)
		}
		st.resources, st.hasResource = c.stringList(w, m, "Resource")
		st.notResources, st.hasNotResource = c.stringList(w, m, "NotResource")
		c.conditions(w, m["Condition"])
		out = append(out, st)
	}
	return out
}

// stringList reads an element that is a string or a non-empty list of strings.
func (c *checker) stringList(w Finding, m map[string]any, key string) ([]string, bool) {
	v, ok := m[key]
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, el := range x {
			s, isStr := el.(string)
			if !isStr {
				c.add(Error, RuleGrammar, w, "%s values must be strings, not %s", key, jsonText(el))
				continue
			}
			out = append(out, s)
		}
		if len(x) == 0 {
			c.add(Error, RuleGrammar, w, "%s is an empty list: give at least one value or remove the statement", key)
		}
		return out, true
	}
	c.add(Error, RuleGrammar, w, "%s must be a string or a list of strings, not %s", key, jsonText(v))
	return nil, true
}

// action checks one Action or NotAction value: its syntax, then that its service and action
// (or, for a wildcard, at least one action) exist.
func (c *checker) action(w Finding, a string, trust bool) {
	if a == "*" {
		return
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || !servicePattern.MatchString(svc) || !actionPattern.MatchString(name) {
		c.add(Error, RuleGrammar, w, "action %q is not of the form service:Action (e.g. ec2:DescribeInstances or ec2:Describe*; wildcards only in the action part)", a)
		return
	}
	if !c.cat.HasService(svc) {
		c.add(Error, RuleUnknownService, w, "%q: there is no AWS service with the prefix %q (catalog: %s); check the prefix in the Service Authorization Reference", a, svc, c.cat.Source)
		return
	}
	if trust && !strings.EqualFold(svc, "sts") {
		c.add(Error, RuleGrammar, w, "action %q in a trust policy: a trust policy grants only STS actions such as sts:AssumeRole, sts:AssumeRoleWithWebIdentity and sts:TagSession", a)
		return
	}
	if len(c.cat.Match(a)) > 0 {
		return
	}
	if strings.ContainsAny(name, "*?") {
		c.add(Error, RuleUnknownAction, w, "%q matches no %s action, so it grants nothing: fix the pattern (catalog: %s)", a, strings.ToLower(svc), c.cat.Source)
	} else {
		c.add(Error, RuleUnknownAction, w, "action %q does not exist in service %s: check its spelling in the Service Authorization Reference (catalog: %s)", a, strings.ToLower(svc), c.cat.Source)
	}
}

// conditions checks a Condition block: operator → condition key → value or values.
func (c *checker) conditions(w Finding, v any) {
	if v == nil {
		return
	}
	block, ok := v.(map[string]any)
	if !ok {
		c.add(Error, RuleGrammar, w, "Condition must be an object of operator → {key: values}, not %s", jsonText(v))
		return
	}
	for _, op := range sortedKeys(block) {
		if !validOperator(op) {
			hint := "e.g. StringEquals, ArnLike, ForAnyValue:StringLike, BoolIfExists, Null"
			if s := suggestOperator(op); s != "" {
				hint = "did you mean " + s + "? Operators are case-sensitive"
			}
			c.add(Error, RuleConditionOperator, w, "condition operator %q does not exist (%s)", op, hint)
		}
		keys, ok := block[op].(map[string]any)
		if !ok {
			c.add(Error, RuleGrammar, w, "condition %s must map condition keys to values, not %s", op, jsonText(block[op]))
			continue
		}
		if len(keys) == 0 {
			c.add(Error, RuleGrammar, w, "condition %s has no condition key", op)
		}
		for _, k := range sortedKeys(keys) {
			if !conditionValueOK(keys[k]) {
				c.add(Error, RuleGrammar, w, "condition %s %q: a value must be a string, number or boolean, or a list of them, not %s", op, k, jsonText(keys[k]))
			}
		}
	}
}

func conditionValueOK(v any) bool {
	switch x := v.(type) {
	case string, bool, float64, int, int64:
		return true
	case []string:
		return len(x) > 0
	case []any:
		for _, el := range x {
			switch el.(type) {
			case string, bool, float64, int, int64:
			default:
				return false
			}
		}
		return len(x) > 0
	}
	return false
}

// conditionValues returns the values a statement's conditions give a key, under every
// operator that constrains it positively (not a Not… operator, not …IfExists, not Null).
func conditionValues(m map[string]any, key string) []string {
	block, _ := m["Condition"].(map[string]any)
	var out []string
	for _, op := range sortedKeys(block) {
		if strings.Contains(op, "Not") || strings.HasSuffix(op, "IfExists") || op == "Null" {
			continue
		}
		keys, _ := block[op].(map[string]any)
		for k, v := range keys {
			if !strings.EqualFold(k, key) {
				continue
			}
			switch x := v.(type) {
			case string:
				out = append(out, x)
			case []any:
				for _, el := range x {
					out = append(out, fmt.Sprint(el))
				}
			case []string:
				out = append(out, x...)
			}
		}
	}
	return out
}

// constrains reports whether a statement's conditions limit key to values other than "*".
func constrains(m map[string]any, key string) bool {
	vals := conditionValues(m, key)
	for _, v := range vals {
		if strings.Trim(v, "*") == "" {
			return false
		}
	}
	return len(vals) > 0
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
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// allows reports whether the statement's Action (or NotAction) covers an action.
func (st statement) allows(action string) bool {
	a := strings.ToLower(action)
	if st.hasNotAction {
		for _, p := range st.notActions {
			if glob(strings.ToLower(p), a) {
				return false
			}
		}
		return true
	}
	for _, p := range st.actions {
		if p == "*" || glob(strings.ToLower(p), a) {
			return true
		}
	}
	return false
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
	if len(parts) < 6 || !glob(strings.ToLower(parts[2]), "iam") {
		return breadthNone
	}
	res := parts[5]
	k, rest, hasSlash := strings.Cut(res, "/")
	switch {
	case res == "*":
		return breadthAll
	case strings.ContainsAny(k, "*?"):
		if glob(strings.ToLower(k), kind) {
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

// validARN reports whether r has the six parts of an ARN.
func validARN(r string) bool {
	parts := strings.SplitN(r, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != ""
}

// trustPolicy lints a role's trust policy.
func (c *checker) trustPolicy(where Finding, doc map[string]any) {
	for _, st := range c.document(where, doc, true) {
		w := st.where
		for _, k := range []string{"Resource", "NotResource"} {
			if _, ok := st.raw[k]; ok {
				c.add(Error, RuleGrammar, w, "%s does not belong in a trust policy (the resource is the role itself): remove it", k)
			}
		}
		if _, ok := st.raw["NotPrincipal"]; ok {
			c.add(Error, RuleGrammar, w, "NotPrincipal cannot be used in a role trust policy: name the trusted principals in Principal")
		}
		p, ok := st.raw["Principal"]
		if !ok {
			if _, not := st.raw["NotPrincipal"]; !not {
				c.add(Error, RuleGrammar, w, "a trust statement needs a Principal naming who may assume the role")
			}
			continue
		}
		principals := c.principals(w, p)
		if !st.allow {
			continue
		}
		c.trustBreadth(st, principals)
	}
}

// principals parses a Principal element into type → identifiers ("*" becomes AWS: "*").
func (c *checker) principals(w Finding, p any) map[string][]string {
	out := map[string][]string{}
	switch x := p.(type) {
	case string:
		if x != "*" {
			c.add(Error, RuleGrammar, w, "Principal %q: use \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:role/Vendor\"}", x)
			return out
		}
		out["AWS"] = []string{"*"}
	case map[string]any:
		if len(x) == 0 {
			c.add(Error, RuleGrammar, w, "Principal is empty: name the principals that may assume the role")
		}
		for _, t := range sortedKeys(x) {
			if !principalTypes[t] {
				c.add(Error, RuleGrammar, w, "principal type %q does not exist: use AWS, Service, Federated or CanonicalUser (case-sensitive)", t)
				continue
			}
			ids, _ := c.stringList(w, x, t)
			out[t] = ids
		}
	default:
		c.add(Error, RuleGrammar, w, "Principal must be \"*\" or an object of principal type → identifiers, not %s", jsonText(p))
	}
	return out
}

// trustBreadth reports trust in anyone, in whole accounts and in any identity of a web
// identity provider, and cross-account AssumeRole without an external ID.
func (c *checker) trustBreadth(st statement, principals map[string][]string) {
	w := st.where
	cross, anyone := false, false
	for _, id := range principals["AWS"] {
		switch {
		case id == "*":
			anyone = true
			c.add(Error, RuleBroadTrust, w, "Principal \"*\" lets any AWS principal in any account assume the role (conditions are easy to get wrong): trust the vendor's role ARNs instead")
		case isAccountRoot(id):
			c.add(Warning, RuleBroadTrust, w, "trusts the whole account %s (%s): any user or role there whose own policies allow sts:AssumeRole can assume this role; trust the vendor's specific role ARNs instead", accountOf(id), id)
		}
		if acct := accountOf(id); acct != "" && acct != c.grant.AccountID {
			cross = true
		}
	}
	for _, id := range principals["Service"] {
		if strings.Contains(id, "*") {
			c.add(Error, RuleBroadTrust, w, "Service principal %q has a wildcard: name the service, e.g. ec2.amazonaws.com", id)
		}
	}
	if len(principals["Federated"]) > 0 && st.allows("sts:AssumeRoleWithWebIdentity") {
		for _, provider := range principals["Federated"] {
			if provider == "*" || strings.Contains(provider, ":saml-provider/") {
				continue
			}
			host := provider
			if i := strings.Index(provider, ":oidc-provider/"); i >= 0 {
				host = provider[i+len(":oidc-provider/"):]
			}
			if !hasConditionPrefix(st.raw, host+":") {
				c.add(Warning, RuleBroadTrust, w, "trusts web identities from %s with no condition on its claims (%s:aud, %s:sub): any identity that provider issues tokens to, in any organization, could assume the role; add a StringEquals condition on the audience or subject", provider, host, host)
			}
		}
	}
	if cross && !anyone && st.allows("sts:AssumeRole") && len(conditionValues(st.raw, "sts:ExternalId")) == 0 {
		fix := "add a StringEquals condition on sts:ExternalId if the vendor supports one"
		if c.spec != nil && c.spec.Handoff.ExternalIDParam != "" {
			fix = fmt.Sprintf("set the spec parameter %q to the external ID the vendor gives you (the spec then adds the condition)", c.spec.Handoff.ExternalIDParam)
		}
		c.add(Info, RuleNoExternalID, w, "cross-account sts:AssumeRole without an sts:ExternalId condition: another customer of the vendor could have the vendor act on this account (the confused-deputy problem); %s", fix)
	}
	for _, id := range conditionValues(st.raw, "sts:ExternalId") {
		if !c.externalIDs[id] {
			c.externalID(w, id)
		}
	}
}

func hasConditionPrefix(m map[string]any, prefix string) bool {
	block, _ := m["Condition"].(map[string]any)
	for _, keys := range block {
		km, _ := keys.(map[string]any)
		for k := range km {
			if strings.HasPrefix(strings.ToLower(k), strings.ToLower(prefix)) {
				return true
			}
		}
	}
	return false
}

// isAccountRoot reports whether an AWS principal is a whole account: a bare account ID or
// arn:PARTITION:iam::ACCOUNT:root.
func isAccountRoot(id string) bool {
	if accountPattern.MatchString(id) {
		return true
	}
	parts := strings.SplitN(id, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5] == "root"
}

// accountOf returns the account ID an AWS principal belongs to, or "".
func accountOf(id string) string {
	if accountPattern.MatchString(id) {
		return id
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}

// compactLen counts a document's characters as IAM does for its quotas: white space excluded.
func compactLen(doc map[string]any) int {
	if doc == nil {
		return 0
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // count <, > and & as one character each, as IAM does
	_ = enc.Encode(doc)
	n := 0
	for _, r := range b.String() {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonText renders a value as JSON for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
