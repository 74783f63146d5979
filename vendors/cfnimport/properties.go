// The properties of IAM resources: references to roles and policies, policy documents, trust
// policies and attachments, translated into their spec forms.

package cfnimport

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/vendors"
)

func (c *converter) roleRefs(v any, path string, roles map[string]*vendors.RoleSpec) []string {
	list, _ := v.([]any)
	var out []string
	for i, x := range list {
		if m, ok := x.(map[string]any); ok {
			if ref, ok := m["Ref"].(string); ok {
				if _, isRole := roles[ref]; isRole && roles[ref] != nil {
					out = append(out, ref)
					continue
				}
			}
		}
		c.issue(fmt.Sprintf("%s[%d]", path, i), "only !Ref to a role of this template is supported")
	}
	return out
}

// policyRef turns a ManagedPolicyArns entry into a spec policy ID or an ARN template.
func (c *converter) policyRef(v any, path string, policyIDs map[string]bool) string {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["Ref"].(string); ok && policyIDs[ref] {
			return ref
		}
	}
	return c.str(v, path)
}

// doc converts a policy document, translating intrinsic functions inside string values.
func (c *converter) doc(v any, path string, policyIDs map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return c.str(x, path)
				}
			}
		}
		out := map[string]any{}
		for k, el := range x {
			out[k] = c.doc(el, path+"."+k, policyIDs)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for i, el := range x {
			out = append(out, c.doc(el, fmt.Sprintf("%s[%d]", path, i), policyIDs))
		}
		return out
	case string:
		return escapeLiteral(x)
	}
	return v
}

// trust converts an AssumeRolePolicyDocument into trust statements.
func (c *converter) trust(v any, path string) []vendors.TrustStatement {
	doc, _ := v.(map[string]any)
	var stmts []any
	switch s := doc["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	var out []vendors.TrustStatement
	for i, s := range stmts {
		sp := fmt.Sprintf("%s.Statement[%d]", path, i)
		m, _ := s.(map[string]any)
		ts := vendors.TrustStatement{}
		if sid, ok := m["Sid"]; ok {
			str := c.str(sid, sp+".Sid")
			ts.Sid = &str
		}
		ts.Effect = c.str(m["Effect"], sp+".Effect")
		ts.Actions = c.strList(m["Action"], sp+".Action")
		switch p := m["Principal"].(type) {
		case map[string]any:
			for _, typ := range slices.Sorted(maps.Keys(p)) {
				ids := c.strList(p[typ], sp+".Principal."+typ)
				ts.Principals = append(ts.Principals, vendors.Principal{Type: typ, Identifiers: identifiers(ids)})
			}
		default:
			c.issue(sp+".Principal", "a trust statement must name principals by type (AWS, Federated, Service); \"*\" is not allowed")
		}
		if cond, ok := m["Condition"].(map[string]any); ok {
			for _, test := range slices.Sorted(maps.Keys(cond)) {
				vars, _ := cond[test].(map[string]any)
				for _, variable := range slices.Sorted(maps.Keys(vars)) {
					vals := c.strList(vars[variable], sp+".Condition."+test+"."+variable)
					ts.Conditions = append(ts.Conditions, vendors.TrustCondition{Test: test, Variable: variable, Values: identifiers(vals)})
				}
			}
		}
		for _, k := range []string{"NotPrincipal", "NotAction"} {
			if _, ok := m[k]; ok {
				c.issue(sp+"."+k, k+" is not supported in trust statements")
			}
		}
		out = append(out, ts)
	}
	if len(out) == 0 {
		c.issue(path, "no trust statements")
	}
	return out
}

func (c *converter) strList(v any, path string) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for i, el := range list {
			out = append(out, c.str(el, fmt.Sprintf("%s[%d]", path, i)))
		}
		return out
	}
	return []string{c.str(v, path)}
}

// identifiers keeps a single identifier a string, so the spec reads like the template.
func identifiers(ids []string) any {
	if len(ids) == 1 {
		return ids[0]
	}
	return toAnyList(ids)
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func splitTrim(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// attachments converts ManagedPolicyArns: a list, an !If between lists, or a list whose
// entries may be !If between an ARN and AWS::NoValue. Each branch's entries are attached when
// its side of the condition holds.
func (c *converter) attachments(v any, path string, when vendors.Conditions, policyIDs map[string]bool, policyWhen map[string]vendors.Conditions) []vendors.Attachment {
	if isNoValue(v) {
		return nil
	}
	if cond, yes, no, ok := c.ifBranches(v, path); ok {
		out := c.attachments(yes, path+".Fn::If[1]", append(append(vendors.Conditions{}, when...), cond), policyIDs, policyWhen)
		return append(out, c.attachments(no, path+".Fn::If[2]", append(append(vendors.Conditions{}, when...), "!"+cond), policyIDs, policyWhen)...)
	}
	if list, ok := v.([]any); ok {
		var out []vendors.Attachment
		for i, el := range list {
			out = append(out, c.attachments(el, fmt.Sprintf("%s[%d]", path, i), when, policyIDs, policyWhen)...)
		}
		return out
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if _, isIf := m["Fn::If"]; isIf {
			return nil // reported by ifBranches
		}
	}
	ref := c.policyRef(v, path, policyIDs)
	if ref == "" {
		return nil
	}
	w := append(vendors.Conditions{}, when...)
	w = append(w, policyWhen[ref]...)
	if len(w) == 0 {
		w = nil
	}
	return []vendors.Attachment{{Policy: ref, When: w}}
}
