package vendors

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Target says where a spec is resolved: the account and its partition and region.
type Target struct {
	AccountID string
	// Partition defaults to "aws".
	Partition string
	// Region is the deployment region; a parameter named "region" shadows it in templates.
	Region string
	// LookupKMSKeyARN resolves a KMS key ID or alias to its key ARN in the account. It is
	// called only when a spec local uses kmsKeyArn and the customer gave no explicit ARNs.
	LookupKMSKeyARN func(keyID string) (string, error)
}

// Grant is what one vendor is granted in one account: every policy and role with its
// documents filled in. The component creates exactly this; render prints it.
type Grant struct {
	Vendor     string
	Spec       string
	Version    string
	AccountID  string
	Partition  string
	Policies   []Policy
	Roles      []Role
	ExternalID string
	// Params are the resolved parameter values, defaults included.
	Params map[string]any
}

// Policy is a managed policy to create.
type Policy struct {
	ID          string
	Name        string
	Path        string
	Description string
	Document    map[string]any
	Tags        map[string]string
}

// ARN is the policy's ARN in the grant's account.
func (p Policy) ARN(partition, accountID string) string {
	return fmt.Sprintf("arn:%s:iam::%s:policy%s%s", partition, accountID, p.Path, p.Name)
}

// Role is a role to create.
type Role struct {
	ID                 string
	Name               string
	Path               string
	Description        string
	MaxSessionDuration int
	TrustPolicy        map[string]any
	// Boundary is a spec policy ID (BoundaryIsSpec) or a policy ARN; empty for none.
	Boundary       string
	BoundaryIsSpec bool
	Attachments    []RoleAttachment
	InlinePolicies map[string]map[string]any
	Tags           map[string]string
}

// ARN is the role's ARN in the grant's account.
func (r Role) ARN(partition, accountID string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", partition, accountID, r.Path, r.Name)
}

// RoleAttachment is one managed policy attached to a role: a spec policy or an ARN.
type RoleAttachment struct {
	PolicyID string
	ARN      string
}

// Policy returns the grant's policy with the given spec ID.
func (g *Grant) Policy(id string) (Policy, bool) {
	for _, p := range g.Policies {
		if p.ID == id {
			return p, true
		}
	}
	return Policy{}, false
}

// AttachmentARN is the ARN an attachment points at.
func (g *Grant) AttachmentARN(a RoleAttachment) string {
	if a.PolicyID == "" {
		return a.ARN
	}
	p, _ := g.Policy(a.PolicyID)
	return p.ARN(g.Partition, g.AccountID)
}

// BoundaryARN is the ARN of a role's permissions boundary, or "".
func (g *Grant) BoundaryARN(r Role) string {
	if !r.BoundaryIsSpec {
		return r.Boundary
	}
	p, _ := g.Policy(r.Boundary)
	return p.ARN(g.Partition, g.AccountID)
}

var (
	roleNamePattern   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamPathPattern    = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	policyNamePattern = roleNamePattern
)

// Quotas from the IAM and STS documentation.
const (
	maxRoleName        = 64
	maxPolicyName      = 128
	maxPath            = 512
	maxDescription     = 1000
	maxManagedPolicy   = 6144 // characters, white space not counted
	maxTrustPolicy     = 2048 // characters, white space not counted (default quota)
	maxInlinePolicies  = 10240
	maxManagedPerRole  = 10 // default quota; can be raised to 20
	maxTagsPerResource = 50
)

// FieldError is an error in a resolved field, named by its path in the spec.
type FieldError struct {
	Vendor string
	Field  string
	Err    error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("vendor %s: %s: %v", e.Vendor, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Resolve fills the spec's templates for one account and parameter set, and validates the
// result against IAM's rules, so that nothing invalid ever reaches a deployment.
func (s *VendorSpec) Resolve(t Target, given map[string]any) (*Grant, error) {
	if t.AccountID == "" || !accountIDPattern.MatchString(t.AccountID) {
		return nil, fmt.Errorf("account ID %q: an AWS account ID is exactly 12 digits", t.AccountID)
	}
	if t.Partition == "" {
		t.Partition = "aws"
	}
	params, err := s.ResolveParams(given)
	if err != nil {
		return nil, err
	}
	sc := scope{"account_id": t.AccountID, "partition": t.Partition, "region": t.Region}
	for k, v := range params {
		sc[k] = v
	}
	ferr := func(field string, err error) error { return &FieldError{Vendor: s.Name, Field: field, Err: err} }

	for i, l := range s.Locals {
		v, err := evalLocal(sc, l, t)
		if err != nil {
			return nil, ferr(fmt.Sprintf("locals[%d] (%s)", i, l.Name), err)
		}
		sc[l.Name] = v
	}

	// Parameters required only for some values of others are checked once locals exist, so
	// their conditions can name either.
	for _, p := range s.Parameters {
		if len(p.RequiredWhen) == 0 || truthy(params[p.Name]) {
			continue
		}
		ok, err := sc.holds(p.RequiredWhen)
		if err != nil {
			return nil, ferr(fmt.Sprintf("parameters (%s).requiredWhen", p.Name), err)
		}
		if ok {
			return nil, &ParamError{Vendor: s.Name, Param: p.Name, Err: fmt.Errorf("is required when %s: %s; set it with --param %s=VALUE or config params.%s",
				describeConditions(s, p.RequiredWhen), describe(p), p.Name, p.Name)}
		}
	}

	g := &Grant{Vendor: s.Vendor, Spec: s.Name, Version: s.Version, AccountID: t.AccountID, Partition: t.Partition, Params: params}
	tags, err := s.tags(sc)
	if err != nil {
		return nil, ferr("tags", err)
	}
	if s.Handoff.ExternalIDParam != "" {
		if v, ok := params[s.Handoff.ExternalIDParam].(string); ok {
			g.ExternalID = v
		}
	}

	for i, ps := range s.Policies {
		field := fmt.Sprintf("policies[%d] (%s)", i, ps.key())
		ok, err := sc.holds(ps.When)
		if err != nil {
			return nil, ferr(field, err)
		}
		if !ok {
			continue
		}
		p := Policy{ID: ps.key(), Tags: tags}
		if p.Name, err = sc.evalString(ps.Name); err != nil {
			return nil, ferr(field+".name", err)
		}
		if p.Path, err = sc.evalString(defaultString(ps.Path, "/")); err != nil {
			return nil, ferr(field+".path", err)
		}
		if p.Description, err = sc.evalString(ps.Description); err != nil {
			return nil, ferr(field+".description", err)
		}
		doc, err := evalDocument(sc, ps.Document)
		if err != nil {
			return nil, ferr(field+".document", err)
		}
		p.Document = doc
		if err := checkPolicy(p); err != nil {
			return nil, ferr(field, err)
		}
		g.Policies = append(g.Policies, p)
	}

	for i, rs := range s.Roles {
		field := fmt.Sprintf("roles[%d] (%s)", i, rs.key())
		ok, err := sc.holds(rs.When)
		if err != nil {
			return nil, ferr(field, err)
		}
		if !ok {
			continue
		}
		r, err := resolveRole(sc, g, rs, tags)
		if err != nil {
			return nil, ferr(field, err)
		}
		g.Roles = append(g.Roles, r)
	}
	if len(g.Roles) == 0 {
		return nil, ferr("roles", fmt.Errorf("the parameters leave no role to create; the vendor would get no access"))
	}
	if err := checkUnique(g); err != nil {
		return nil, &FieldError{Vendor: s.Name, Field: "spec", Err: err}
	}
	return g, nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *VendorSpec) tags(sc scope) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range s.Tags {
		val, err := sc.evalString(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = val
	}
	if s.TagsParam != "" {
		if m, ok := sc[s.TagsParam].(map[string]any); ok {
			for k, v := range m {
				out[k] = v.(string)
			}
		}
	}
	if len(out) > maxTagsPerResource {
		return nil, fmt.Errorf("%d tags; IAM allows at most %d per resource", len(out), maxTagsPerResource)
	}
	for k, v := range out {
		if k == "" || len(k) > 128 {
			return nil, fmt.Errorf("tag key %q must be 1 to 128 characters", k)
		}
		if len(v) > 256 {
			return nil, fmt.Errorf("tag %q: value must be at most 256 characters", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, fmt.Errorf("tag key %q: the aws: prefix is reserved by AWS", k)
		}
	}
	return out, nil
}

func evalLocal(sc scope, l Local, t Target) (any, error) {
	var v any
	var err error
	if ok, err := sc.holds(l.When); err != nil {
		return nil, err
	} else if !ok {
		return []any{}, nil
	}
	switch {
	case l.Lookup != "":
		if v, err = evalLookup(sc, l); err != nil {
			return nil, err
		}
	case l.ForEach != "":
		list, ok := asList(sc[l.ForEach])
		if !ok {
			return nil, fmt.Errorf("forEach: %q is not a list", l.ForEach)
		}
		out := make([]any, 0, len(list))
		for _, el := range list {
			inner := scope{}
			for k, x := range sc {
				inner[k] = x
			}
			inner["each"] = el
			s, err := inner.evalString(l.Format)
			if err != nil {
				return nil, fmt.Errorf("format: %w", err)
			}
			out = append(out, s)
		}
		v = out
	case len(l.Concat) > 0:
		out := []any{}
		for i, e := range l.Concat {
			x, err := sc.eval(e)
			if err != nil {
				return nil, fmt.Errorf("concat[%d]: %w", i, err)
			}
			if list, ok := asList(x); ok {
				out = append(out, list...)
			} else {
				out = append(out, x)
			}
		}
		v = out
	case len(l.FirstNonEmpty) > 0:
		v = []any{}
		for i, e := range l.FirstNonEmpty {
			x, err := sc.eval(e)
			if err != nil {
				return nil, fmt.Errorf("firstNonEmpty[%d]: %w", i, err)
			}
			if truthy(x) {
				v = x
				break
			}
		}
	case l.KMSKeyARN != "":
		keyID, err := sc.evalString(l.KMSKeyARN)
		if err != nil {
			return nil, fmt.Errorf("kmsKeyArn: %w", err)
		}
		// Deferred: the lookup is an AWS API read, so it is only done when used.
		return lazyKMS{keyID: keyID, lookup: t.LookupKMSKeyARN}, nil
	default:
		if v, err = sc.eval(l.Value); err != nil {
			return nil, err
		}
	}
	if list, ok := asList(v); ok {
		if l.Compact {
			kept := list[:0]
			for _, el := range list {
				if s, ok := el.(string); !ok || s != "" {
					kept = append(kept, el)
				}
			}
			list = kept
		}
		if l.Distinct {
			seen := map[string]bool{}
			kept := []any{}
			for _, el := range list {
				key := fmt.Sprint(el)
				if !seen[key] {
					seen[key] = true
					kept = append(kept, el)
				}
			}
			list = kept
		}
		v = list
	}
	return v, nil
}

// evalLookup picks the expression for a key: an exact Map entry, else the first matching
// pattern, else Default. Only the chosen expression is evaluated.
func evalLookup(sc scope, l Local) (any, error) {
	key, err := sc.evalString(l.Lookup)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	if expr, ok := l.Map[key]; ok {
		v, err := sc.eval(expr)
		if err != nil {
			return nil, fmt.Errorf("map[%s]: %w", key, err)
		}
		return v, nil
	}
	for i, p := range l.Patterns {
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("patterns[%d].regex %q does not compile: %v", i, p.Regex, err)
		}
		if re.MatchString(key) {
			v, err := sc.eval(p.Value)
			if err != nil {
				return nil, fmt.Errorf("patterns[%d].value: %w", i, err)
			}
			return v, nil
		}
	}
	if l.Default == nil {
		known := make([]string, 0, len(l.Map))
		for k := range l.Map {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("lookup: no entry for %q; the known values are %s", key, strings.Join(known, ", "))
	}
	v, err := sc.eval(l.Default)
	if err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	return v, nil
}

// lazyKMS is a KMS key lookup that runs only if a later local actually uses its value, so
// that customers who pass explicit key ARNs need no KMS read access and no AWS plugin call.
type lazyKMS struct {
	keyID  string
	lookup func(string) (string, error)
}

func (l lazyKMS) resolve() (string, error) {
	if l.lookup == nil {
		return "", fmt.Errorf("the KMS key %s must be looked up in the account, and no lookup is available here; pass the key ARNs as parameters", l.keyID)
	}
	arn, err := l.lookup(l.keyID)
	if err != nil {
		return "", fmt.Errorf("look up KMS key %s: %w", l.keyID, err)
	}
	return arn, nil
}

func evalDocument(sc scope, doc any) (map[string]any, error) {
	if doc == nil {
		return nil, fmt.Errorf("is missing")
	}
	if s, ok := doc.(string); ok {
		// A document given as JSON text is parsed first, then evaluated like YAML.
		var parsed any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			return nil, fmt.Errorf("document text is not JSON: %v", err)
		}
		doc = parsed
	}
	v, err := sc.eval(doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a policy document must be a map with Version and Statement")
	}
	if err := checkDocumentShape(m); err != nil {
		return nil, err
	}
	return m, nil
}

func checkDocumentShape(m map[string]any) error {
	if v, ok := m["Version"]; !ok || (v != "2012-10-17" && v != "2008-10-17") {
		return fmt.Errorf(`Version must be "2012-10-17"`)
	}
	stmts, ok := m["Statement"].([]any)
	if !ok {
		if _, single := m["Statement"].(map[string]any); !single {
			return fmt.Errorf("Statement must be a list of statements")
		}
		stmts = []any{m["Statement"]}
	}
	if len(stmts) == 0 {
		return fmt.Errorf("Statement is empty")
	}
	sids := map[string]bool{}
	for i, st := range stmts {
		sm, ok := st.(map[string]any)
		if !ok {
			return fmt.Errorf("Statement[%d] must be a map", i)
		}
		if e := sm["Effect"]; e != "Allow" && e != "Deny" {
			return fmt.Errorf("Statement[%d].Effect must be Allow or Deny, got %v", i, e)
		}
		if _, a := sm["Action"]; !a {
			if _, na := sm["NotAction"]; !na {
				return fmt.Errorf("Statement[%d] has neither Action nor NotAction", i)
			}
		}
		if sid, ok := sm["Sid"].(string); ok && sid != "" {
			if sids[sid] {
				return fmt.Errorf("Statement[%d].Sid %q is repeated; Sids must be unique within a policy", i, sid)
			}
			sids[sid] = true
		}
	}
	return nil
}

// compactLen counts a document's characters as IAM does for its quotas: white space excluded.
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

func checkPolicy(p Policy) error {
	if p.Name == "" || len(p.Name) > maxPolicyName || !policyNamePattern.MatchString(p.Name) {
		return fmt.Errorf("name %q: a policy name is 1 to %d characters of letters, digits and +=,.@-_", p.Name, maxPolicyName)
	}
	if err := checkPath(p.Path); err != nil {
		return err
	}
	if len(p.Description) > maxDescription {
		return fmt.Errorf("description is %d characters; IAM allows %d", len(p.Description), maxDescription)
	}
	if n := compactLen(p.Document); n > maxManagedPolicy {
		return fmt.Errorf("document is %d characters without white space; a managed policy may have at most %d: split it into two policies", n, maxManagedPolicy)
	}
	return nil
}

func checkPath(path string) error {
	if len(path) > maxPath || !iamPathPattern.MatchString(path) {
		return fmt.Errorf("path %q: an IAM path starts and ends with / (e.g. /StreamNative/), at most %d characters", path, maxPath)
	}
	return nil
}

func resolveRole(sc scope, g *Grant, rs RoleSpec, tags map[string]string) (Role, error) {
	var err error
	r := Role{ID: rs.key(), Tags: tags, MaxSessionDuration: rs.MaxSessionDuration}
	if r.Name, err = sc.evalString(rs.Name); err != nil {
		return r, fmt.Errorf("name: %w", err)
	}
	if len(r.Name) > maxRoleName {
		return r, fmt.Errorf("name %q is %d characters; an IAM role name is at most %d: choose a shorter name or suffix", r.Name, len(r.Name), maxRoleName)
	}
	if r.Name == "" || !roleNamePattern.MatchString(r.Name) {
		return r, fmt.Errorf("name %q: a role name may contain only letters, digits and +=,.@-_", r.Name)
	}
	if r.Path, err = sc.evalString(defaultString(rs.Path, "/")); err != nil {
		return r, fmt.Errorf("path: %w", err)
	}
	if err := checkPath(r.Path); err != nil {
		return r, err
	}
	if r.Description, err = sc.evalString(rs.Description); err != nil {
		return r, fmt.Errorf("description: %w", err)
	}
	if len(r.Description) > maxDescription {
		return r, fmt.Errorf("description is %d characters; IAM allows %d", len(r.Description), maxDescription)
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = 3600
	}
	if r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200 {
		return r, fmt.Errorf("maxSessionDuration %d: IAM allows 3600 to 43200 seconds", r.MaxSessionDuration)
	}
	if r.TrustPolicy, err = trustPolicy(sc, rs.Trust); err != nil {
		return r, fmt.Errorf("trust: %w", err)
	}
	if n := compactLen(r.TrustPolicy); n > maxTrustPolicy {
		return r, fmt.Errorf("trust policy is %d characters without white space; the default IAM quota is %d", n, maxTrustPolicy)
	}
	if rs.PermissionsBoundary != "" {
		b, err := sc.evalString(rs.PermissionsBoundary)
		if err != nil {
			return r, fmt.Errorf("permissionsBoundary: %w", err)
		}
		if _, ok := g.Policy(b); ok {
			r.Boundary, r.BoundaryIsSpec = b, true
		} else if strings.HasPrefix(b, "arn:") {
			r.Boundary = b
		} else {
			return r, fmt.Errorf("permissionsBoundary %q is neither a policy of this spec (that exists with these parameters) nor an ARN", b)
		}
	}
	seen := map[string]bool{}
	for i, a := range rs.Policies {
		ok, err := sc.holds(a.When)
		if err != nil {
			return r, fmt.Errorf("policies[%d]: %w", i, err)
		}
		if !ok {
			continue
		}
		ref, err := sc.evalString(a.Policy)
		if err != nil {
			return r, fmt.Errorf("policies[%d]: %w", i, err)
		}
		var att RoleAttachment
		if _, ok := g.Policy(ref); ok {
			att.PolicyID = ref
		} else if strings.HasPrefix(ref, "arn:") {
			att.ARN = ref
		} else {
			return r, fmt.Errorf("policies[%d]: %q is neither a policy of this spec (that exists with these parameters) nor an ARN", i, ref)
		}
		key := att.PolicyID + att.ARN
		if seen[key] {
			return r, fmt.Errorf("policies[%d]: %q is attached twice", i, ref)
		}
		seen[key] = true
		r.Attachments = append(r.Attachments, att)
	}
	if len(r.Attachments) > maxManagedPerRole {
		return r, fmt.Errorf("%d managed policies attached; IAM's default quota is %d per role", len(r.Attachments), maxManagedPerRole)
	}
	if len(rs.InlinePolicies) > 0 {
		r.InlinePolicies = map[string]map[string]any{}
		total := 0
		for i, ip := range rs.InlinePolicies {
			name, err := sc.evalString(ip.Name)
			if err != nil {
				return r, fmt.Errorf("inlinePolicies[%d].name: %w", i, err)
			}
			if name == "" || len(name) > maxPolicyName || !policyNamePattern.MatchString(name) {
				return r, fmt.Errorf("inlinePolicies[%d].name %q: 1 to %d characters of letters, digits and +=,.@-_", i, name, maxPolicyName)
			}
			if _, dup := r.InlinePolicies[name]; dup {
				return r, fmt.Errorf("inlinePolicies[%d].name %q is repeated", i, name)
			}
			doc, err := evalDocument(sc, ip.Document)
			if err != nil {
				return r, fmt.Errorf("inlinePolicies[%d].document: %w", i, err)
			}
			total += compactLen(doc)
			r.InlinePolicies[name] = doc
		}
		if total > maxInlinePolicies {
			return r, fmt.Errorf("inline policies total %d characters; IAM allows %d per role", total, maxInlinePolicies)
		}
	}
	return r, nil
}

// trustPolicy builds the trust document the way Terraform's aws_iam_policy_document does:
// one-element lists collapse to strings, conditions group by test then variable.
func trustPolicy(sc scope, stmts []TrustStatement) (map[string]any, error) {
	out := []any{}
	for i, ts := range stmts {
		ok, err := sc.holds(ts.When)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		if !ok {
			continue
		}
		st := map[string]any{}
		if ts.Sid != nil {
			st["Sid"] = *ts.Sid
		}
		st["Effect"] = defaultString(ts.Effect, "Allow")
		if len(ts.Actions) == 0 {
			return nil, fmt.Errorf("[%d].actions: a trust statement needs an action such as sts:AssumeRole", i)
		}
		for _, a := range ts.Actions {
			if !strings.HasPrefix(a, "sts:") {
				return nil, fmt.Errorf("[%d].actions: %q is not an STS action; trust policies grant sts:AssumeRole and its kin", i, a)
			}
		}
		st["Action"] = collapse(ts.Actions)
		if len(ts.Principals) == 0 {
			return nil, fmt.Errorf("[%d].principals: a trust statement must name the vendor's principals", i)
		}
		principal := map[string]any{}
		for j, p := range ts.Principals {
			ids, err := sc.evalStrings(p.Identifiers)
			if err != nil {
				return nil, fmt.Errorf("[%d].principals[%d].identifiers: %w", i, j, err)
			}
			if err := checkPrincipals(p.Type, ids); err != nil {
				return nil, fmt.Errorf("[%d].principals[%d]: %w", i, j, err)
			}
			if prev, ok := principal[p.Type]; ok {
				ids = append(toStrings(prev), ids...)
			}
			principal[p.Type] = collapse(ids)
		}
		st["Principal"] = principal
		cond := map[string]any{}
		for j, c := range ts.Conditions {
			ok, err := sc.holds(c.When)
			if err != nil {
				return nil, fmt.Errorf("[%d].conditions[%d]: %w", i, j, err)
			}
			if !ok {
				continue
			}
			test, err := sc.evalString(c.Test)
			if err != nil {
				return nil, fmt.Errorf("[%d].conditions[%d].test: %w", i, j, err)
			}
			variable, err := sc.evalString(c.Variable)
			if err != nil {
				return nil, fmt.Errorf("[%d].conditions[%d].variable: %w", i, j, err)
			}
			vals, err := sc.evalStrings(c.Values)
			if err != nil {
				return nil, fmt.Errorf("[%d].conditions[%d].values: %w", i, j, err)
			}
			if len(vals) == 0 {
				return nil, fmt.Errorf("[%d].conditions[%d] (%s %s): no values; guard it with `when` so it is left out instead", i, j, test, variable)
			}
			if variable == "sts:ExternalId" {
				for _, v := range vals {
					if err := ValidateExternalID(v); err != nil {
						return nil, fmt.Errorf("[%d].conditions[%d]: external ID %q: %w", i, j, v, err)
					}
				}
			}
			byVar, _ := cond[test].(map[string]any)
			if byVar == nil {
				byVar = map[string]any{}
				cond[test] = byVar
			}
			if prev, ok := byVar[variable]; ok {
				vals = append(toStrings(prev), vals...)
			}
			byVar[variable] = collapse(vals)
		}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no statement applies with these parameters; the role could not be assumed")
	}
	return map[string]any{"Version": "2012-10-17", "Statement": out}, nil
}

func checkPrincipals(typ string, ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("type %s: no identifiers", typ)
	}
	for _, id := range ids {
		switch typ {
		case "AWS":
			if id == "*" {
				return fmt.Errorf("AWS principal \"*\" would let anyone assume the role; name the vendor's role ARNs")
			}
			if !accountIDPattern.MatchString(id) && !arnPattern.MatchString(id) {
				return fmt.Errorf("AWS principal %q must be a role/user ARN or a 12-digit account ID", id)
			}
		case "Federated", "Service":
			if id == "" || id == "*" {
				return fmt.Errorf("%s principal %q must name a provider", typ, id)
			}
		default:
			return fmt.Errorf("principal type %q: use AWS, Federated or Service", typ)
		}
	}
	return nil
}

func collapse(list []string) any {
	if len(list) == 1 {
		return list[0]
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, el := range x {
			out[i] = fmt.Sprint(el)
		}
		return out
	}
	return nil
}

func checkUnique(g *Grant) error {
	names := map[string]string{}
	for _, p := range g.Policies {
		if other, ok := names[strings.ToLower(p.Name)+"/policy"]; ok {
			return fmt.Errorf("policy name %q is used twice (%s and %s); IAM names are unique per account, case-insensitively", p.Name, other, p.ID)
		}
		names[strings.ToLower(p.Name)+"/policy"] = p.ID
	}
	for _, r := range g.Roles {
		if other, ok := names[strings.ToLower(r.Name)+"/role"]; ok {
			return fmt.Errorf("role name %q is used twice (%s and %s); IAM names are unique per account, case-insensitively", r.Name, other, r.ID)
		}
		names[strings.ToLower(r.Name)+"/role"] = r.ID
	}
	return nil
}

// SortedRoleNames returns the role names in a stable order, for reports.
func (g *Grant) SortedRoleNames() []string {
	out := make([]string, len(g.Roles))
	for i, r := range g.Roles {
		out[i] = r.Name
	}
	sort.Strings(out)
	return out
}

// describeConditions says a `when` list in words for error messages.
func describeConditions(s *VendorSpec, c Conditions) string {
	parts := make([]string, len(c))
	for i, cond := range c {
		name, negate := strings.CutPrefix(cond, "!")
		switch {
		case negate:
			parts[i] = name + " is not set"
		default:
			if _, isParam := s.Param(name); isParam {
				parts[i] = name + " is set"
			} else {
				parts[i] = name + " holds"
			}
		}
	}
	return strings.Join(parts, " and ")
}
