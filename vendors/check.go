// The checks Load makes after the JSON Schema, which cannot express them: duplicate names,
// references to policies, parameters and locals that do not exist, and template variables
// nobody defines. Each is located by its field path.

package vendors

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/vendors/internal/iamlimits"
)

type checkError struct {
	path []string
	msg  string
}

// reserved names are built-in template variables a parameter may not redefine.
var reserved = map[string]bool{"account_id": true, "partition": true, "each": true}

// check finds what the schema cannot: duplicate names, references to things that do not
// exist, and template variables nobody defines.
func (s *VendorSpec) check() []checkError {
	var errs []checkError
	add := func(msg string, path ...any) {
		p := make([]string, len(path))
		for i, el := range path {
			p[i] = fmt.Sprint(el)
		}
		errs = append(errs, checkError{path: p, msg: msg})
	}
	known := map[string]bool{"account_id": true, "partition": true, "region": true}
	for i, p := range s.Parameters {
		if reserved[p.Name] {
			add(fmt.Sprintf("%q is a built-in template variable; rename the parameter", p.Name), "parameters", i, "name")
		}
		if known[p.Name] && p.Name != "region" {
			add(fmt.Sprintf("parameter %q is declared twice", p.Name), "parameters", i, "name")
		}
		known[p.Name] = true
		if p.Default != nil {
			v, err := coerce(p, p.Default)
			if err != nil {
				add("default: "+err.Error(), "parameters", i, "default")
			} else if err := checkParam(p, v); err != nil {
				add("default: "+err.Error(), "parameters", i, "default")
			}
		}
		if p.Required && p.Default != nil {
			add("a required parameter cannot have a default", "parameters", i, "required")
		}
		if p.Required && len(p.RequiredWhen) > 0 {
			add("a required parameter needs no requiredWhen", "parameters", i, "requiredWhen")
		}
	}
	checkRefs := func(v any, path ...any) {
		reported := map[string]bool{}
		for _, name := range allRefs(v) {
			if !known[name] && !reported[name] {
				reported[name] = true
				add(fmt.Sprintf("unknown variable ${%s}; declare it as a parameter or local", name), path...)
			}
		}
	}
	checkWhen := func(c Conditions, path ...any) {
		for _, w := range c {
			if !known[strings.TrimPrefix(w, "!")] {
				add(fmt.Sprintf("when: unknown parameter or local %q", w), path...)
			}
		}
	}
	for i, l := range s.Locals {
		if known[l.Name] {
			add(fmt.Sprintf("local %q is already a parameter or local", l.Name), "locals", i, "name")
		}
		checkWhen(l.When, "locals", i, "when")
		if l.Lookup == "" && (l.Map != nil || l.Patterns != nil || l.Default != nil) {
			add("map, patterns and default belong to a lookup local; add lookup: ${parameter}", "locals", i)
		}
		for j, p := range l.Patterns {
			if _, err := regexp.Compile(p.Regex); err != nil {
				add(fmt.Sprintf("regex %q does not compile: %v", p.Regex, err), "locals", i, "patterns", j, "regex")
			}
		}
		switch {
		case l.Lookup != "":
			patterns := make([]any, len(l.Patterns))
			for j, p := range l.Patterns {
				patterns[j] = p.Value
			}
			checkRefs([]any{l.Lookup, mapValues(l.Map), patterns, l.Default}, "locals", i)
		case l.ForEach != "":
			if !known[l.ForEach] {
				add(fmt.Sprintf("forEach: unknown list %q", l.ForEach), "locals", i, "forEach")
			}
			known["each"] = true
			checkRefs(l.Format, "locals", i, "format")
			delete(known, "each")
		default:
			checkRefs([]any{l.Value, l.Concat, l.FirstNonEmpty, l.KMSKeyARN}, "locals", i)
		}
		known[l.Name] = true
	}
	// requiredWhen is checked after the locals, so it may name them.
	for i, p := range s.Parameters {
		checkWhen(p.RequiredWhen, "parameters", i, "requiredWhen")
	}
	checkRefs(s.Tags, "tags")
	if s.TagsParam != "" {
		if p, ok := s.Param(s.TagsParam); !ok || p.Type != TypeMap {
			add(fmt.Sprintf("%q must name a map parameter", s.TagsParam), "tagsParam")
		}
	}
	if s.Handoff.ExternalIDParam != "" {
		if p, ok := s.Param(s.Handoff.ExternalIDParam); !ok || p.Type != TypeString {
			add(fmt.Sprintf("%q must name a string parameter", s.Handoff.ExternalIDParam), "handoff", "externalIdParam")
		}
	}
	policyIDs := map[string]int{}
	for i, p := range s.Policies {
		if j, dup := policyIDs[p.key()]; dup {
			add(fmt.Sprintf("policy %q is declared twice (also policies[%d]); give each an unique id", p.key(), j), "policies", i, "name")
		}
		policyIDs[p.key()] = i
		checkRefs(p.Name, "policies", i, "name")
		checkRefs(p.Path, "policies", i, "path")
		checkRefs(p.Description, "policies", i, "description")
		checkRefs(p.Document, "policies", i, "document")
		checkWhen(p.When, "policies", i, "when")
	}
	roleIDs := map[string]int{}
	for i, r := range s.Roles {
		if j, dup := roleIDs[r.key()]; dup {
			add(fmt.Sprintf("role %q is declared twice (also roles[%d]); give each an unique id", r.key(), j), "roles", i, "name")
		}
		roleIDs[r.key()] = i
		if !strings.Contains(r.Name, "${") && len(r.Name) > iamlimits.RoleName {
			add(fmt.Sprintf("role name %q is %d characters; IAM allows at most %d", r.Name, len(r.Name), iamlimits.RoleName), "roles", i, "name")
		}
		checkRefs(r.Name, "roles", i, "name")
		checkRefs(r.Path, "roles", i, "path")
		checkRefs(r.Description, "roles", i, "description")
		checkWhen(r.When, "roles", i, "when")
		for j, t := range r.Trust {
			checkWhen(t.When, "roles", i, "trust", j, "when")
			for k, p := range t.Principals {
				checkRefs(p.Identifiers, "roles", i, "trust", j, "principals", k, "identifiers")
			}
			for k, c := range t.Conditions {
				checkRefs([]any{c.Test, c.Variable, c.Values}, "roles", i, "trust", j, "conditions", k)
				checkWhen(c.When, "roles", i, "trust", j, "conditions", k, "when")
			}
		}
		for j, a := range r.Policies {
			checkWhen(a.When, "roles", i, "policies", j, "when")
			if _, ok := policyIDs[a.Policy]; !ok && !strings.HasPrefix(a.Policy, "arn:") {
				add(fmt.Sprintf("%q is neither a policy id of this spec nor an ARN", a.Policy), "roles", i, "policies", j, "policy")
			}
		}
		if b := r.PermissionsBoundary; b != "" {
			if _, ok := policyIDs[b]; !ok && !strings.HasPrefix(b, "arn:") {
				add(fmt.Sprintf("%q is neither a policy id of this spec nor an ARN", b), "roles", i, "permissionsBoundary")
			}
		}
		for j, ip := range r.InlinePolicies {
			checkRefs(ip.Document, "roles", i, "inlinePolicies", j, "document")
		}
	}
	return errs
}

// allRefs lists the template variables used anywhere in an expression tree.
func allRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, refs(x)...)
	case []any:
		for _, el := range x {
			out = append(out, allRefs(el)...)
		}
	case map[string]any:
		for k, el := range x {
			out = append(out, refs(k)...)
			out = append(out, allRefs(el)...)
		}
	case map[string]string:
		for k, el := range x {
			out = append(out, refs(k)...)
			out = append(out, refs(el)...)
		}
	}
	return out
}

// mapValues lists a map's values in key order, for reference checks.
func mapValues(m map[string]any) []any {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
