package lint

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/internal/iamlimits"
)

// Severity ranks a finding: error, warning or info.
type Severity string

const (
	// Error is what IAM would reject, or what must not be deployed as it is.
	Error Severity = "error"
	// Warning is a risk a reviewer should accept explicitly or have fixed.
	Warning Severity = "warning"
	// Info is worth a reviewer's attention but often intended.
	Info Severity = "info"
)

// Finding is one lint result: what is wrong, where, and how to fix it.
type Finding struct {
	// Severity is error, warning or info.
	Severity Severity `json:"severity"`
	// Rule is the stable ID of the check, e.g. BYOC008.
	Rule string `json:"rule"`
	// Policy names the managed or inline policy concerned, if any.
	Policy string `json:"policy,omitempty"`
	// Role names the role concerned (the trust policy's or an inline policy's), if any.
	Role string `json:"role,omitempty"`
	// Statement is the statement's Sid, or "#N" (0-based) when it has none.
	Statement string `json:"statement,omitempty"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
}

// Where describes the finding's location, e.g. "role R, policy P, statement S".
func (f Finding) Where() string {
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

// Rule IDs, stable across releases so that reviewers can suppress or track them.
const (
	// RuleGrammar is BYOC001: a document does not follow IAM's policy grammar.
	RuleGrammar = "BYOC001"
	// RuleUnknownService is BYOC002: an action names a service prefix that does not exist.
	RuleUnknownService = "BYOC002"
	// RuleUnknownAction is BYOC003: an action, or an action wildcard, matches no action.
	RuleUnknownAction = "BYOC003"
	// RuleConditionOperator is BYOC004: a condition operator IAM does not have.
	RuleConditionOperator = "BYOC004"
	// RuleQuota is BYOC005: a name, document, count or external ID is over an IAM limit.
	RuleQuota = "BYOC005"
	// RuleEmptySid is BYOC006: a statement has an empty Sid.
	RuleEmptySid = "BYOC006"
	// RuleDuplicateSid is BYOC007: two statements of one policy share a Sid.
	RuleDuplicateSid = "BYOC007"
	// RuleEscalation is BYOC008: permissions-management actions allowed on broad resources.
	RuleEscalation = "BYOC008"
	// RuleBroadTrust is BYOC009: a trust policy trusts anyone, a whole account or any identity.
	RuleBroadTrust = "BYOC009"
	// RuleNoExternalID is BYOC010: cross-account AssumeRole without an sts:ExternalId condition.
	RuleNoExternalID = "BYOC010"
	// RuleNotActionOnAll is BYOC011: an Allow with NotAction on every resource.
	RuleNotActionOnAll = "BYOC011"
)

// Rule describes one check, for SARIF output and documentation.
type Rule struct {
	// ID is the stable rule ID, e.g. BYOC001.
	ID string
	// Name is a short kebab-case name, e.g. policy-grammar.
	Name string
	// Severities lists the severities the rule reports, most severe first.
	Severities []Severity
	// Description is a one-sentence summary.
	Description string
}

// Rules lists every check lint makes, in ID order.
var Rules = []Rule{
	{RuleGrammar, "policy-grammar", []Severity{Error, Warning}, "A policy document does not follow IAM's grammar (Version, Statement, Effect, Action, Resource, Principal, Sid, Condition)."},
	{RuleUnknownService, "unknown-service", []Severity{Error}, "An action names a service prefix that does not exist."},
	{RuleUnknownAction, "unknown-action", []Severity{Error}, "An action does not exist in its service, or an action wildcard matches none."},
	{RuleConditionOperator, "unknown-condition-operator", []Severity{Error}, "A condition uses an operator IAM does not have."},
	{RuleQuota, "quota", []Severity{Error, Warning}, "A name, document size, attachment count or external ID is over an IAM limit."},
	{RuleEmptySid, "empty-sid", []Severity{Info}, "A statement has an empty Sid."},
	{RuleDuplicateSid, "duplicate-sid", []Severity{Error}, "Two statements of one policy share a Sid."},
	{RuleEscalation, "privilege-escalation", []Severity{Warning, Info}, "Actions that let the holder raise its own permissions (iam:PassRole, iam:PutRolePolicy, ...) are allowed on every resource or on wildcard IAM resources."},
	{RuleBroadTrust, "trust-too-broad", []Severity{Error, Warning}, "A trust policy trusts anyone, a whole account, or any identity of an identity provider."},
	{RuleNoExternalID, "no-external-id", []Severity{Info}, "A cross-account AssumeRole trust statement has no sts:ExternalId condition."},
	{RuleNotActionOnAll, "notaction-on-all", []Severity{Warning}, "An Allow with NotAction on every resource allows everything not listed, including actions AWS adds later."},
}

// PlaceholderAccount is the account ID CheckSpec resolves a spec for.
const PlaceholderAccount = "000000000000"

// CheckSpec resolves a spec for the placeholder account 000000000000 in us-east-1 (KMS key
// lookups answer with a made-up key ARN) and lints the result. It returns Resolve's error
// when the spec or parameters are invalid.
func CheckSpec(spec *vendors.VendorSpec, params map[string]any) ([]Finding, error) {
	g, err := spec.Resolve(vendors.Target{
		AccountID: PlaceholderAccount,
		Region:    "us-east-1",
		LookupKMSKeyARN: func(id string) (string, error) {
			return "arn:aws:kms:us-east-1:" + PlaceholderAccount + ":key/" + strings.NewReplacer("/", "-", ":", "-").Replace(id), nil
		},
	}, params)
	if err != nil {
		return nil, err
	}
	return Check(spec, g), nil
}

// Check lints a resolved grant, errors first. The spec, which may be nil, only improves
// messages (e.g. naming the parameter that sets the external ID).
func Check(spec *vendors.VendorSpec, g *vendors.Grant) []Finding {
	if g == nil {
		return nil
	}
	c := &checker{cat: DefaultCatalog(), spec: spec, grant: g, externalIDs: map[string]bool{}}
	boundaryOf := map[string]bool{}
	holders := map[string][]vendors.Role{}
	for _, r := range g.Roles {
		if r.BoundaryIsSpec {
			boundaryOf[r.Boundary] = true
		}
		for _, a := range r.Attachments {
			if a.PolicyID != "" {
				holders[a.PolicyID] = append(holders[a.PolicyID], r)
			}
		}
	}
	for _, p := range g.Policies {
		where := Finding{Policy: p.Name}
		c.name(where, "policy", p.Name, iamlimits.PolicyName)
		c.description(where, "policy", p.Description)
		if n := iamlimits.DocumentChars(p.Document); n > iamlimits.ManagedPolicyChars {
			c.add(Error, RuleQuota, where, "document is %d characters without white space; a managed policy may have at most %d (not adjustable): split it into two policies or use wildcards such as ec2:Describe*", n, iamlimits.ManagedPolicyChars)
		}
		// A policy used only as a permissions boundary grants nothing, so the escalation and
		// NotAction checks, which are about what is granted, do not apply to it.
		ctx := grantContext{grants: !boundaryOf[p.ID] || len(holders[p.ID]) > 0}
		for _, r := range holders[p.ID] {
			ctx.holders = append(ctx.holders, r.Name)
			if r.Boundary != "" {
				ctx.boundaries = append(ctx.boundaries, r.Name)
			}
		}
		if len(holders[p.ID]) == 0 && ctx.grants {
			ctx.unattached = true
		}
		c.identityPolicy(where, p.Document, ctx)
	}
	for _, r := range g.Roles {
		where := Finding{Role: r.Name}
		c.name(where, "role", r.Name, iamlimits.RoleName)
		c.description(where, "role", r.Description)
		switch n := len(r.Attachments); {
		case n > iamlimits.ManagedPerRoleRaised:
			c.add(Error, RuleQuota, where, "%d managed policies attached; IAM allows at most %d per role even after a quota increase: merge policies", n, iamlimits.ManagedPerRoleRaised)
		case n > iamlimits.ManagedPerRole:
			c.add(Warning, RuleQuota, where, "%d managed policies attached; IAM's default quota is %d per role: request an increase (up to %d) in Service Quotas before deploying, or merge policies", n, iamlimits.ManagedPerRole, iamlimits.ManagedPerRoleRaised)
		}
		switch n := iamlimits.DocumentChars(r.TrustPolicy); {
		case n > iamlimits.TrustPolicyCharsRaised:
			c.add(Error, RuleQuota, where, "trust policy is %d characters without white space; IAM allows at most %d even after a quota increase: trust fewer principals or use wildcards in conditions", n, iamlimits.TrustPolicyCharsRaised)
		case n > iamlimits.TrustPolicyChars:
			c.add(Warning, RuleQuota, where, "trust policy is %d characters without white space; IAM's default quota is %d: request an increase (up to %d) in Service Quotas, or trust fewer principals", n, iamlimits.TrustPolicyChars, iamlimits.TrustPolicyCharsRaised)
		}
		c.trustPolicy(where, r.TrustPolicy)
		total := 0
		for _, doc := range r.InlinePolicies {
			total += iamlimits.DocumentChars(doc)
		}
		if total > iamlimits.InlinePolicyChars {
			c.add(Error, RuleQuota, where, "inline policies total %d characters without white space; IAM allows %d per role: move some into managed policies", total, iamlimits.InlinePolicyChars)
		}
		for _, n := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
			w := Finding{Role: r.Name, Policy: n}
			c.name(w, "inline policy", n, iamlimits.PolicyName)
			ctx := grantContext{grants: true, holders: []string{r.Name}}
			if r.Boundary != "" {
				ctx.boundaries = []string{r.Name}
			}
			c.identityPolicy(w, r.InlinePolicies[n], ctx)
		}
	}
	if id := g.ExternalID; id != "" && !c.externalIDs[id] {
		c.externalID(Finding{}, id)
	}
	sort.SliceStable(c.out, func(i, j int) bool { return rank(c.out[i].Severity) < rank(c.out[j].Severity) })
	return c.out
}

// HasErrors reports whether any finding is an error, i.e. whether the spec must not be deployed.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns how many findings there are of each severity.
func Count(fs []Finding) map[Severity]int {
	out := map[Severity]int{Error: 0, Warning: 0, Info: 0}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
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

type checker struct {
	cat   *Catalog
	spec  *vendors.VendorSpec
	grant *vendors.Grant
	out   []Finding
	// externalIDs are the external ID values already checked, so each is reported once.
	externalIDs map[string]bool
}

func (c *checker) add(sev Severity, rule string, where Finding, format string, args ...any) {
	where.Severity, where.Rule, where.Message = sev, rule, fmt.Sprintf(format, args...)
	c.out = append(c.out, where)
}

// grantContext says how a permissions policy is used: whether it grants anything (a policy
// used only as a boundary does not), which roles hold it and which of those are bounded.
type grantContext struct {
	grants     bool
	unattached bool
	holders    []string
	boundaries []string
}

// bounded reports whether every role holding the policy has a permissions boundary.
func (g grantContext) bounded() bool {
	return len(g.holders) > 0 && len(g.boundaries) == len(g.holders)
}

func (c *checker) name(where Finding, kind, name string, max int) {
	switch {
	case name == "":
		c.add(Error, RuleQuota, where, "the %s has no name", kind)
	case len(name) > max:
		c.add(Error, RuleQuota, where, "%s name %q is %d characters; IAM allows at most %d: choose a shorter name or suffix", kind, name, len(name), max)
	case !iamlimits.NamePattern.MatchString(name):
		c.add(Error, RuleQuota, where, "%s name %q: IAM allows only letters, digits and +=,.@_-", kind, name)
	}
}

func (c *checker) description(where Finding, kind, d string) {
	if len(d) > iamlimits.Description {
		c.add(Error, RuleQuota, where, "%s description is %d characters; IAM allows at most %d", kind, len(d), iamlimits.Description)
	}
}

func (c *checker) externalID(where Finding, id string) {
	c.externalIDs[id] = true
	if err := vendors.ValidateExternalID(id); err != nil {
		c.add(Error, RuleQuota, where, "external ID %q: %v (STS's limits)", id, err)
	}
}
