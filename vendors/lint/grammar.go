// IAM's policy grammar, for identity and trust policies alike: Version, Statement, Sid,
// Effect, Action and NotAction (against the catalog), Condition operators and values; and
// the helpers that read a parsed statement's actions and conditions.

package lint

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var (
	sidPattern     = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	servicePattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	actionPattern  = regexp.MustCompile(`^[A-Za-z0-9*?-]+$`)
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
	for _, k := range slices.Sorted(maps.Keys(doc)) {
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
		for _, k := range slices.Sorted(maps.Keys(m)) {
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
	for _, op := range slices.Sorted(maps.Keys(block)) {
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
		for _, k := range slices.Sorted(maps.Keys(keys)) {
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
	for _, op := range slices.Sorted(maps.Keys(block)) {
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

// allows reports whether the statement's Action (or NotAction) covers an action.
func (st statement) allows(action string) bool {
	a := strings.ToLower(action)
	if st.hasNotAction {
		for _, p := range st.notActions {
			if Glob(strings.ToLower(p), a) {
				return false
			}
		}
		return true
	}
	for _, p := range st.actions {
		if p == "*" || Glob(strings.ToLower(p), a) {
			return true
		}
	}
	return false
}

// validARN reports whether r has the six parts of an ARN.
func validARN(r string) bool {
	parts := strings.SplitN(r, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != ""
}

// jsonText renders a value as JSON for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
