package vendors

import "regexp"

// SpecVersion is the only spec format version this build understands.
const SpecVersion = "byoc-access/v1"

// VendorSpec is one vendor's access definition, as written in a spec file.
type VendorSpec struct {
	// APIVersion pins the spec format ("byoc-access/v1").
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Vendor is the vendor's display name, e.g. "StreamNative".
	Vendor string `yaml:"vendor" json:"vendor"`
	// Name is the short preset name, e.g. "streamnative".
	Name string `yaml:"name" json:"name"`
	// Version is the version of what the vendor publishes that this spec reproduces.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Source says where the vendor publishes this access (document, module and release).
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Description is shown by `rollout vendors list`.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Parameters are the inputs a customer may set, with types and defaults.
	Parameters []Parameter `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// Locals are values derived from parameters, evaluated in order.
	Locals []Local `yaml:"locals,omitempty" json:"locals,omitempty"`
	// Tags are applied to every role and policy.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// TagsParam names a map parameter whose entries are merged over Tags.
	TagsParam string `yaml:"tagsParam,omitempty" json:"tagsParam,omitempty"`
	// Policies are the customer-managed policies to create.
	Policies []PolicySpec `yaml:"policies,omitempty" json:"policies,omitempty"`
	// Roles are the roles the vendor assumes.
	Roles []RoleSpec `yaml:"roles" json:"roles"`
	// Handoff says what the customer sends the vendor besides the role ARNs.
	Handoff HandoffSpec `yaml:"handoff,omitempty" json:"handoff,omitempty"`

	// source is the file the spec was loaded from, so that errors found later (resolving it
	// with an account's values) name the line; nil for presets and specs built in Go.
	source *locator
}

// ParamType is the type of a vendor parameter.
type ParamType string

// Parameter types a spec may declare.
const (
	TypeString ParamType = "string"
	TypeNumber ParamType = "number"
	TypeBool   ParamType = "bool"
	TypeList   ParamType = "list"
	TypeMap    ParamType = "map"
)

// Parameter is one customer input of a vendor spec.
type Parameter struct {
	Name        string    `yaml:"name" json:"name"`
	Type        ParamType `yaml:"type" json:"type"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
	Default     any       `yaml:"default,omitempty" json:"default,omitempty"`
	Required    bool      `yaml:"required,omitempty" json:"required,omitempty"`
	// Format applies a known validation: "externalId", "arn" or "awsAccountId"; for a list,
	// every element is checked.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Pattern is a regular expression every string (or list element) must match.
	Pattern string   `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	Enum    []string `yaml:"enum,omitempty" json:"enum,omitempty"`
	// Deprecated, when set, says what to use instead.
	Deprecated string `yaml:"deprecated,omitempty" json:"deprecated,omitempty"`
	// RequiredWhen lists conditions (parameter or local names, as in `when`) under which the
	// parameter must be set, e.g. a VPC ID only for a restricted policy type.
	RequiredWhen Conditions `yaml:"requiredWhen,omitempty" json:"requiredWhen,omitempty"`
	// Secret says the value is a credential or a value the customer keeps private: it is
	// masked in output and stored encrypted in stack config.
	Secret bool `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// Local is a value derived from parameters and earlier locals. Exactly one of Value, ForEach,
// Concat, FirstNonEmpty, KMSKeyARN or Lookup is set.
type Local struct {
	Name string `yaml:"name" json:"name"`
	// Value is an expression: a template string, a list or a map.
	Value any `yaml:"value,omitempty" json:"value,omitempty"`
	// ForEach names a list; Format is evaluated once per element with ${each} bound to it.
	ForEach string `yaml:"forEach,omitempty" json:"forEach,omitempty"`
	Format  string `yaml:"format,omitempty" json:"format,omitempty"`
	// Concat joins lists (and single values) in order.
	Concat []any `yaml:"concat,omitempty" json:"concat,omitempty"`
	// FirstNonEmpty yields the first expression that is not empty.
	FirstNonEmpty []any `yaml:"firstNonEmpty,omitempty" json:"firstNonEmpty,omitempty"`
	// KMSKeyARN looks up the ARN of a KMS key by ID or alias in the account (an AWS API read
	// at deploy time), e.g. "alias/aws/ebs".
	KMSKeyARN string `yaml:"kmsKeyArn,omitempty" json:"kmsKeyArn,omitempty"`
	// Lookup is a template yielding a key: the local is the expression Map holds for it, else
	// the value of the first of Patterns whose regular expression matches it, else Default.
	// With no match and no Default it is an error naming the key, so a table of vendor
	// accounts per site or partition never silently falls back.
	Lookup   string         `yaml:"lookup,omitempty" json:"lookup,omitempty"`
	Map      map[string]any `yaml:"map,omitempty" json:"map,omitempty"`
	Patterns []Pattern      `yaml:"patterns,omitempty" json:"patterns,omitempty"`
	Default  any            `yaml:"default,omitempty" json:"default,omitempty"`
	// When makes the local an empty list unless its conditions hold, so a list of statements
	// or actions can be spliced into a document only for some parameter values.
	When Conditions `yaml:"when,omitempty" json:"when,omitempty"`
	// Compact drops empty strings from a list result; Distinct drops repeats, keeping the first.
	Compact  bool `yaml:"compact,omitempty" json:"compact,omitempty"`
	Distinct bool `yaml:"distinct,omitempty" json:"distinct,omitempty"`
}

// Pattern is one case of a Lookup local: a regular expression the key must match, and the
// expression the local takes when it does.
type Pattern struct {
	Regex string `yaml:"regex" json:"regex"`
	Value any    `yaml:"value" json:"value"`
}

// PolicySpec is a customer-managed IAM policy.
type PolicySpec struct {
	// ID is how roles refer to the policy; it defaults to Name.
	ID          string `yaml:"id,omitempty" json:"id,omitempty"`
	Name        string `yaml:"name" json:"name"`
	Path        string `yaml:"path,omitempty" json:"path,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Document is the policy document, a template evaluated against parameters and locals.
	Document any `yaml:"document" json:"document"`
	// When lists conditions that must all hold for the policy to exist.
	When Conditions `yaml:"when,omitempty" json:"when,omitempty"`
}

// RoleSpec is an IAM role the vendor assumes.
type RoleSpec struct {
	ID                 string `yaml:"id,omitempty" json:"id,omitempty"`
	Name               string `yaml:"name" json:"name"`
	Path               string `yaml:"path,omitempty" json:"path,omitempty"`
	Description        string `yaml:"description,omitempty" json:"description,omitempty"`
	MaxSessionDuration int    `yaml:"maxSessionDuration,omitempty" json:"maxSessionDuration,omitempty"`
	// Trust is the list of trust policy statements.
	Trust []TrustStatement `yaml:"trust" json:"trust"`
	// Policies are attached managed policies: a spec policy ID, or an ARN template such as
	// "arn:${partition}:iam::aws:policy/ReadOnlyAccess".
	Policies []Attachment `yaml:"policies,omitempty" json:"policies,omitempty"`
	// InlinePolicies are embedded in the role.
	InlinePolicies []InlinePolicy `yaml:"inlinePolicies,omitempty" json:"inlinePolicies,omitempty"`
	// PermissionsBoundary is a spec policy ID or a policy ARN template.
	PermissionsBoundary string     `yaml:"permissionsBoundary,omitempty" json:"permissionsBoundary,omitempty"`
	When                Conditions `yaml:"when,omitempty" json:"when,omitempty"`
}

// Attachment is one managed policy attached to a role.
type Attachment struct {
	Policy string     `yaml:"policy" json:"policy"`
	When   Conditions `yaml:"when,omitempty" json:"when,omitempty"`
}

// InlinePolicy is a policy embedded in one role.
type InlinePolicy struct {
	Name     string `yaml:"name" json:"name"`
	Document any    `yaml:"document" json:"document"`
}

// TrustStatement is one statement of a role's trust policy, shaped like Terraform's
// aws_iam_policy_document so vendor modules translate line for line.
type TrustStatement struct {
	// Sid is kept exactly, including an explicit empty string, because vendors publish it.
	Sid        *string          `yaml:"sid,omitempty" json:"sid,omitempty"`
	Effect     string           `yaml:"effect,omitempty" json:"effect,omitempty"`
	Actions    []string         `yaml:"actions" json:"actions"`
	Principals []Principal      `yaml:"principals" json:"principals"`
	Conditions []TrustCondition `yaml:"conditions,omitempty" json:"conditions,omitempty"`
	When       Conditions       `yaml:"when,omitempty" json:"when,omitempty"`
}

// Principal is a trusted principal set of one type.
type Principal struct {
	// Type is "AWS", "Federated" or "Service".
	Type string `yaml:"type" json:"type"`
	// Identifiers is an expression yielding one or more identifiers.
	Identifiers any `yaml:"identifiers" json:"identifiers"`
}

// TrustCondition is one condition of a trust statement.
type TrustCondition struct {
	Test     string     `yaml:"test" json:"test"`
	Variable string     `yaml:"variable" json:"variable"`
	Values   any        `yaml:"values" json:"values"`
	When     Conditions `yaml:"when,omitempty" json:"when,omitempty"`
}

// Conditions is a list of parameter or local names that must all be "truthy" (true, a
// non-empty string, list or map); a leading "!" negates one.
type Conditions []string

// HandoffSpec says which parameter carries the external ID the vendor must present.
type HandoffSpec struct {
	ExternalIDParam string `yaml:"externalIdParam,omitempty" json:"externalIdParam,omitempty"`
	// Instructions are shown to the customer with the handoff report.
	Instructions string `yaml:"instructions,omitempty" json:"instructions,omitempty"`
}

// The schema's "name" and "identifier" patterns (vendor-spec.schema.json), for code that makes
// specs and must not write one Load refuses.
var (
	specNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// IsSpecName reports whether s can be a spec's name, the one --vendor takes: lower-case
// letters, digits and dashes, not starting with a dash.
func IsSpecName(s string) bool { return specNamePattern.MatchString(s) }

// IsIdentifier reports whether s can name a parameter or local, and so be used as ${s} in
// templates and in `when`.
func IsIdentifier(s string) bool { return identifierPattern.MatchString(s) }

// Param returns the parameter with the given name.
func (s *VendorSpec) Param(name string) (Parameter, bool) {
	for _, p := range s.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

func (p PolicySpec) key() string {
	if p.ID != "" {
		return p.ID
	}
	return p.Name
}

func (r RoleSpec) key() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Name
}
