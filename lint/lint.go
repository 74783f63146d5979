// Package lint checks a vendor's policies before they are granted: IAM grammar, services and
// actions that do not exist, IAM quotas, and the patterns security reviewers look for first
// (privilege escalation on "*", trust in a whole account, missing external IDs).
package lint

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/byoc-access/byoc-access/vendors"
)

// Severity ranks a finding.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one lint result.
type Finding struct {
	Severity Severity `json:"severity"`
	// Rule is a stable ID, e.g. BYOC003.
	Rule string `json:"rule"`
	// Policy or Role says where; Statement is the Sid or index.
	Policy    string `json:"policy,omitempty"`
	Role      string `json:"role,omitempty"`
	Statement string `json:"statement,omitempty"`
	Message   string `json:"message"`
}

func (f Finding) where() string {
	var parts []string
	if f.Role != "" {
		parts = append(parts, "role "+f.Role)
	}
	if f.Policy != "" {
		parts = append(parts, "policy "+f.Policy)
	}
	if f.Statement != "" {
		parts = append(parts, "statement "+f.Statement)
	}
	return strings.Join(parts, ", ")
}

// Rule describes one check, for SARIF and documentation.
type Rule struct {
	ID          string
	Name        string
	Description string
}

// Rules lists every check.
var Rules = []Rule{
	{"BYOC001", "policy-grammar", "A policy document does not follow IAM's grammar."},
	{"BYOC002", "unknown-service", "An action names a service prefix that does not exist."},
	{"BYOC003", "unknown-action", "An action, or a wildcard, matches no action of its service."},
	{"BYOC004", "unknown-condition-operator", "A condition uses an operator IAM does not have."},
	{"BYOC005", "quota", "A name, document or attachment count is over an IAM quota."},
	{"BYOC006", "empty-sid", "A statement has an empty Sid."},
	{"BYOC007", "duplicate-sid", "Two statements of a policy share a Sid."},
	{"BYOC008", "privilege-escalation", "Permissions-management actions are allowed on every resource."},
	{"BYOC009", "trust-too-broad", "A trust policy trusts a whole account or anyone."},
	{"BYOC010", "no-external-id", "A cross-account trust statement has no sts:ExternalId condition."},
	{"BYOC011", "notaction-on-all", "NotAction with Resource \"*\" allows everything not listed."},
}

// escalation lists the actions that let a principal raise its own permissions when allowed on
// every resource; iam:CreateRole counts only without an iam:PermissionsBoundary condition.
var escalation = []string{
	"iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
	"iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
	"iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
	"iam:AddUserToGroup", "iam:CreateRole", "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary",
}

var operators = []string{
	"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
	"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
	"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
	"Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}

func validOperator(op string) bool {
	base := op
	for _, p := range []string{"ForAnyValue:", "ForAllValues:"} {
		base = strings.TrimPrefix(base, p)
	}
	if base != "Null" {
		base = strings.TrimSuffix(base, "IfExists")
	}
	for _, o := range operators {
		if base == o {
			return true
		}
	}
	return false
}

// Quotas from IAM's documentation.
const (
	maxManagedPolicyChars = 6144
	maxTrustPolicyChars   = 2048
	maxManagedPerRole     = 10
	maxRoleName           = 64
	maxPolicyName         = 128
)

// CheckSpec resolves a spec with a placeholder account and lints the result.
func CheckSpec(spec *vendors.VendorSpec, params map[string]any) ([]Finding, error) {
	g, err := spec.Resolve(vendors.Target{AccountID: "000000000000", Region: "us-east-1", LookupKMSKeyARN: func(id string) (string, error) {
		return "arn:aws:kms:us-east-1:000000000000:key/" + strings.ReplaceAll(id, "/", "-"), nil
	}}, params)
	if err != nil {
		return nil, err
	}
	return Check(g), nil
}

type checker struct {
	cat *Catalog
	out []Finding
}

func (c *checker) add(sev Severity, rule string, f Finding, format string, args ...any) {
	f.Severity, f.Rule, f.Message = sev, rule, fmt.Sprintf(format, args...)
	c.out = append(c.out, f)
}

// Check lints a resolved grant.
func Check(g *vendors.Grant) []Finding {
	c := &checker{cat: DefaultCatalog()}
	boundaries := map[string]bool{}
	attachedTo := map[string][]vendors.Role{}
	for _, r := range g.Roles {
		if r.BoundaryIsSpec {
			boundaries[r.Boundary] = true
		}
		for _, a := range r.Attachments {
			if a.PolicyID != "" {
				attachedTo[a.PolicyID] = append(attachedTo[a.PolicyID], r)
			}
		}
	}
	for _, p := range g.Policies {
		where := Finding{Policy: p.Name}
		if len(p.Name) > maxPolicyName {
			c.add(Error, "BYOC005", where, "policy name is %d characters; IAM allows %d", len(p.Name), maxPolicyName)
		}
		if n := compactLen(p.Document); n > maxManagedPolicyChars {
			c.add(Error, "BYOC005", where, "document is %d characters without white space; a managed policy may have %d", n, maxManagedPolicyChars)
		}
		// A boundary only limits; broad actions in it grant nothing, so escalation does not apply.
		bounded := len(attachedTo[p.ID]) > 0
		for _, r := range attachedTo[p.ID] {
			if r.Boundary == "" {
				bounded = false
			}
		}
		c.identityPolicy(where, p.Document, !boundaries[p.ID] || len(attachedTo[p.ID]) > 0, bounded)
	}
	for _, r := range g.Roles {
		where := Finding{Role: r.Name}
		if len(r.Name) > maxRoleName {
			c.add(Error, "BYOC005", where, "role name is %d characters; IAM allows %d", len(r.Name), maxRoleName)
		}
		if len(r.Attachments) > maxManagedPerRole {
			c.add(Warning, "BYOC005", where, "%d managed policies attached; the default quota is %d per role (it can be raised to 20)", len(r.Attachments), maxManagedPerRole)
		}
		if n := compactLen(r.TrustPolicy); n > maxTrustPolicyChars {
			c.add(Error, "BYOC005", where, "trust policy is %d characters without white space; the default quota is %d", n, maxTrustPolicyChars)
		}
		c.trustPolicy(where, r.TrustPolicy, g.AccountID)
		names := make([]string, 0, len(r.InlinePolicies))
		for n := range r.InlinePolicies {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c.identityPolicy(Finding{Role: r.Name, Policy: n}, r.InlinePolicies[n], true, r.Boundary != "")
		}
	}
	if g.ExternalID != "" {
		if err := vendors.ValidateExternalID(g.ExternalID); err != nil {
			c.add(Error, "BYOC005", Finding{}, "external ID: %v", err)
		}
	}
	sort.SliceStable(c.out, func(i, j int) bool { return rank(c.out[i].Severity) < rank(c.out[j].Severity) })
	return c.out
}

func rank(s Severity) int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

func statements(doc map[string]any) []map[string]any {
	var out []map[string]any
	switch s := doc["Statement"].(type) {
	case []any:
		for _, el := range s {
			if m, ok := el.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, el := range x {
			out = append(out, fmt.Sprint(el))
		}
		return out
	}
	return nil
}

func stmtName(s map[string]any, i int) string {
	if sid, ok := s["Sid"].(string); ok && sid != "" {
		return sid
	}
	return fmt.Sprintf("#%d", i)
}

// common checks what identity and trust statements share: Effect, Sid, actions, conditions.
func (c *checker) common(where Finding, doc map[string]any) {
	if v := doc["Version"]; v != "2012-10-17" {
		c.add(Error, "BYOC001", where, "Version is %v; use \"2012-10-17\" (older versions do not support policy variables)", v)
	}
	sids := map[string]bool{}
	for i, s := range statements(doc) {
		w := where
		w.Statement = stmtName(s, i)
		if e := s["Effect"]; e != "Allow" && e != "Deny" {
			c.add(Error, "BYOC001", w, "Effect must be Allow or Deny, not %v", e)
		}
		if sid, ok := s["Sid"].(string); ok {
			if sid == "" {
				c.add(Info, "BYOC006", w, "empty Sid: name the statement so reviews and CloudTrail policy evaluation can refer to it")
			} else if sids[sid] {
				c.add(Error, "BYOC007", w, "Sid %q is used twice in this policy", sid)
			}
			sids[sid] = true
		}
		_, hasAction := s["Action"]
		_, hasNotAction := s["NotAction"]
		if hasAction == hasNotAction {
			c.add(Error, "BYOC001", w, "a statement needs exactly one of Action and NotAction")
		}
		for _, key := range []string{"Action", "NotAction"} {
			for _, a := range strs(s[key]) {
				c.action(w, a)
			}
		}
		if cond, ok := s["Condition"].(map[string]any); ok {
			for op := range cond {
				if !validOperator(op) {
					c.add(Error, "BYOC004", w, "condition operator %q does not exist (e.g. StringEquals, ArnLike, ForAnyValue:StringLike, BoolIfExists)", op)
				}
			}
		}
	}
}

func (c *checker) action(w Finding, a string) {
	if a == "*" {
		return
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		c.add(Error, "BYOC001", w, "action %q is not service:Action", a)
		return
	}
	if !c.cat.HasService(svc) {
		c.add(Error, "BYOC002", w, "service %q in %q does not exist (catalog: %s)", svc, a, c.cat.Source)
		return
	}
	if len(c.cat.Match(a)) == 0 {
		if strings.ContainsAny(name, "*?") {
			c.add(Error, "BYOC003", w, "%q matches no %s action", a, svc)
		} else {
			c.add(Error, "BYOC003", w, "action %q does not exist in service %s", a, svc)
		}
	}
}

// identityPolicy lints a permissions policy; grants says whether it grants anything (a
// policy used only as a boundary does not), bounded whether every role holding it has a
// permissions boundary.
func (c *checker) identityPolicy(where Finding, doc map[string]any, grants, bounded bool) {
	c.common(where, doc)
	for i, s := range statements(doc) {
		w := where
		w.Statement = stmtName(s, i)
		if _, ok := s["Principal"]; ok {
			c.add(Error, "BYOC001", w, "Principal belongs in trust (resource) policies, not in a permissions policy")
		}
		_, hasRes := s["Resource"]
		_, hasNotRes := s["NotResource"]
		if hasRes == hasNotRes {
			c.add(Error, "BYOC001", w, "a permissions statement needs exactly one of Resource and NotResource")
		}
		if s["Effect"] != "Allow" || !grants {
			continue
		}
		onAll := false
		for _, r := range strs(s["Resource"]) {
			if r == "*" {
				onAll = true
			}
		}
		if !onAll {
			continue
		}
		if _, ok := s["NotAction"]; ok {
			c.add(Warning, "BYOC011", w, "NotAction with Resource \"*\" allows every action not listed, including ones AWS adds later")
		}
		found := c.escalations(s)
		if len(found) == 0 {
			continue
		}
		sev, why := Warning, "and no permissions boundary bounds the roles that hold it"
		if bounded {
			sev, why = Info, "but every role holding it has a permissions boundary"
		}
		c.add(sev, "BYOC008", w, "allows %s on every resource (\"*\"), which lets the holder raise its own permissions, %s", strings.Join(found, ", "), why)
	}
}

// escalations lists the escalation actions a statement allows, expanding wildcards.
func (c *checker) escalations(s map[string]any) []string {
	allowed := map[string]bool{}
	for _, a := range strs(s["Action"]) {
		if a == "*" {
			a = "iam:*"
		}
		for _, m := range c.cat.Match(a) {
			allowed[strings.ToLower(m)] = true
		}
	}
	cond, _ := s["Condition"].(map[string]any)
	hasBoundaryCondition := false
	for _, vars := range cond {
		if m, ok := vars.(map[string]any); ok {
			if _, ok := m["iam:PermissionsBoundary"]; ok {
				hasBoundaryCondition = true
			}
		}
	}
	var out []string
	for _, e := range escalation {
		if !allowed[strings.ToLower(e)] {
			continue
		}
		if e == "iam:CreateRole" && hasBoundaryCondition {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (c *checker) trustPolicy(where Finding, doc map[string]any, accountID string) {
	c.common(where, doc)
	for i, s := range statements(doc) {
		w := where
		w.Statement = stmtName(s, i)
		for _, k := range []string{"Resource", "NotResource"} {
			if _, ok := s[k]; ok {
				c.add(Error, "BYOC001", w, "%s does not belong in a trust policy", k)
			}
		}
		if s["Effect"] != "Allow" {
			continue
		}
		var aws []string
		switch p := s["Principal"].(type) {
		case string:
			if p == "*" {
				c.add(Error, "BYOC009", w, "Principal \"*\" lets anyone assume the role: name the vendor's principals")
			}
		case map[string]any:
			aws = strs(p["AWS"])
		default:
			c.add(Error, "BYOC001", w, "a trust statement needs a Principal")
		}
		cross := false
		for _, id := range aws {
			switch {
			case id == "*":
				c.add(Error, "BYOC009", w, "AWS principal \"*\" lets anyone assume the role: name the vendor's principals")
			case isAccountRoot(id):
				c.add(Warning, "BYOC009", w, "trusts the whole account %s: every principal that account allows may assume the role; trust the vendor's role ARN instead", accountOf(id))
			}
			if acct := accountOf(id); acct != "" && acct != accountID {
				cross = true
			}
		}
		assume := false
		for _, a := range strs(s["Action"]) {
			if a == "sts:AssumeRole" || a == "sts:*" {
				assume = true
			}
		}
		if cross && assume && !hasCondition(s, "sts:ExternalId") {
			c.add(Info, "BYOC010", w, "a third-party AssumeRole without an sts:ExternalId condition is open to the confused-deputy problem; set an external ID if the vendor supports one")
		}
	}
}

func isAccountRoot(id string) bool {
	if len(id) == 12 && strings.Trim(id, "0123456789") == "" {
		return true
	}
	return strings.HasPrefix(id, "arn:") && strings.HasSuffix(id, ":root")
}

func accountOf(id string) string {
	if len(id) == 12 && strings.Trim(id, "0123456789") == "" {
		return id
	}
	parts := strings.Split(id, ":")
	if len(parts) >= 6 {
		return parts[4]
	}
	return ""
}

func hasCondition(s map[string]any, variable string) bool {
	cond, _ := s["Condition"].(map[string]any)
	for _, vars := range cond {
		if m, ok := vars.(map[string]any); ok {
			if _, ok := m[variable]; ok {
				return true
			}
		}
	}
	return false
}

func compactLen(doc map[string]any) int {
	b, _ := json.Marshal(doc)
	n := 0
	for _, r := range string(b) {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}
