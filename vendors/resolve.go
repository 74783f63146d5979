// Resolve: a spec and parameter values in, the grant for one account out. It evaluates locals
// (locals.go), builds trust documents (trust.go) and holds the result to IAM's rules
// (iamrules.go) so that nothing invalid reaches a deployment.

package vendors

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/vendors/internal/iamlimits"
)

// FieldError is an error in a resolved field, named by its path in the spec.
type FieldError struct {
	Vendor string
	Field  string
	Err    error
	// File and Line are where the field is written, for a spec loaded from a file; "" and 0
	// for a preset or a spec built in Go.
	File string
	Line int
}

func (e *FieldError) Error() string {
	if e.File != "" && e.Line > 0 {
		return fmt.Sprintf("%s:%d: vendor %s: %s: %v", e.File, e.Line, e.Vendor, e.Field, e.Err)
	}
	return fmt.Sprintf("vendor %s: %s: %v", e.Vendor, e.Field, e.Err)
}

// fieldPath reads a field as resolution names it, "roles[0] (AcmeAccess).name", as the path
// of the spec's YAML it came from.
var fieldPath = regexp.MustCompile(`^(\w+)(?:\[(\d+)\])?(?: \([^)]*\))?(?:\.(\w+))?`)

// fieldError is a resolution error located in the spec's file, when it came from one.
func (s *VendorSpec) fieldError(field string, err error) error {
	fe := &FieldError{Vendor: s.Name, Field: field, Err: err}
	if m := fieldPath.FindStringSubmatch(field); m != nil && s.source != nil {
		path := []string{m[1]}
		for _, seg := range m[2:] {
			if seg != "" {
				path = append(path, seg)
			}
		}
		fe.File = s.source.file
		fe.Line, _ = s.source.position(path)
	}
	return fe
}

func (e *FieldError) Unwrap() error { return e.Err }

// Resolve fills the spec's templates for one account and parameter set, and validates the
// result against IAM's rules, so that nothing invalid ever reaches a deployment.
func (s *VendorSpec) Resolve(t Target, given map[string]any) (*Grant, error) {
	// validate.AccountID's text names the field (the account ID) and the fix already.
	if err := validate.AccountID(t.AccountID); err != nil {
		return nil, err
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
	ferr := s.fieldError

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
		return nil, s.fieldError("spec", err)
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
	if len(out) > iamlimits.TagsPerResource {
		return nil, fmt.Errorf("%d tags; IAM allows at most %d per resource", len(out), iamlimits.TagsPerResource)
	}
	if err := validate.Tags(out); err != nil {
		return nil, err
	}
	return out, nil
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

func resolveRole(sc scope, g *Grant, rs RoleSpec, tags map[string]string) (Role, error) {
	var err error
	r := Role{ID: rs.key(), Tags: tags, MaxSessionDuration: rs.MaxSessionDuration}
	if r.Name, err = sc.evalString(rs.Name); err != nil {
		return r, fmt.Errorf("name: %w", err)
	}
	if len(r.Name) > iamlimits.RoleName {
		return r, fmt.Errorf("name %q is %d characters; an IAM role name is at most %d: choose a shorter name or suffix", r.Name, len(r.Name), iamlimits.RoleName)
	}
	if r.Name == "" || !iamlimits.NamePattern.MatchString(r.Name) {
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
	if len(r.Description) > iamlimits.Description {
		return r, fmt.Errorf("description is %d characters; IAM allows %d", len(r.Description), iamlimits.Description)
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
	if n := iamlimits.DocumentChars(r.TrustPolicy); n > iamlimits.TrustPolicyChars {
		return r, fmt.Errorf("trust policy is %d characters without white space; the default IAM quota is %d", n, iamlimits.TrustPolicyChars)
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
	if len(r.Attachments) > iamlimits.ManagedPerRole {
		return r, fmt.Errorf("%d managed policies attached; IAM's default quota is %d per role", len(r.Attachments), iamlimits.ManagedPerRole)
	}
	if len(rs.InlinePolicies) > 0 {
		r.InlinePolicies = map[string]map[string]any{}
		total := 0
		for i, ip := range rs.InlinePolicies {
			name, err := sc.evalString(ip.Name)
			if err != nil {
				return r, fmt.Errorf("inlinePolicies[%d].name: %w", i, err)
			}
			if name == "" || len(name) > iamlimits.PolicyName || !iamlimits.NamePattern.MatchString(name) {
				return r, fmt.Errorf("inlinePolicies[%d].name %q: 1 to %d characters of letters, digits and +=,.@-_", i, name, iamlimits.PolicyName)
			}
			if _, dup := r.InlinePolicies[name]; dup {
				return r, fmt.Errorf("inlinePolicies[%d].name %q is repeated", i, name)
			}
			doc, err := evalDocument(sc, ip.Document)
			if err != nil {
				return r, fmt.Errorf("inlinePolicies[%d].document: %w", i, err)
			}
			total += iamlimits.DocumentChars(doc)
			r.InlinePolicies[name] = doc
		}
		if total > iamlimits.InlinePolicyChars {
			return r, fmt.Errorf("inline policies total %d characters; IAM allows %d per role", total, iamlimits.InlinePolicyChars)
		}
	}
	return r, nil
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
