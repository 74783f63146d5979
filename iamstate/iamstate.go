package iamstate

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Account is the vendor's roles and managed policies in one account.
type Account struct {
	AccountID string            `json:"accountId"`
	Roles     map[string]Role   `json:"roles"`
	Policies  map[string]Policy `json:"policies"`
}

// Role is one IAM role as IAM reports it.
type Role struct {
	Path               string `json:"path"`
	Description        string `json:"description"`
	TrustPolicy        any    `json:"trustPolicy"`
	MaxSessionDuration int    `json:"maxSessionDuration"`
	// PermissionsBoundary is the boundary policy's ARN, or nil.
	PermissionsBoundary *string           `json:"permissionsBoundary"`
	AttachedPolicies    []string          `json:"attachedPolicies"`
	InlinePolicies      map[string]any    `json:"inlinePolicies"`
	Tags                map[string]string `json:"tags"`
}

// Policy is one customer-managed policy as IAM reports it (its default version).
type Policy struct {
	Path        string            `json:"path"`
	Description string            `json:"description"`
	Document    any               `json:"document"`
	Tags        map[string]string `json:"tags"`
}

// Statements returns a policy document's statements; a single statement object counts as one.
func Statements(doc any) []map[string]any {
	m, _ := doc.(map[string]any)
	var out []map[string]any
	switch s := m["Statement"].(type) {
	case []any:
		for _, el := range s {
			if sm, ok := el.(map[string]any); ok {
				out = append(out, sm)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

// Strings reads a policy element that may be a string or a list of strings.
func Strings(v any) []string {
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

// CanonicalStatements returns each statement of a document as canonical JSON, sorted: a
// string and a one-element list are the same, lists are sorted. IAM gives documents that
// differ only in these ways the same meaning, so comparisons use this form.
func CanonicalStatements(doc any) []string {
	var out []string
	for _, s := range Statements(doc) {
		out = append(out, CanonicalStatement(s))
	}
	sort.Strings(out)
	return out
}

// CanonicalStatement is one statement as canonical JSON, as CanonicalStatements writes each.
func CanonicalStatement(s map[string]any) string {
	b, _ := json.Marshal(canonical(s))
	return string(b)
}

func canonical(v any) any {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := Strings(x)
		sort.Strings(out)
		return out
	case map[string]any:
		out := map[string]any{}
		for k, el := range x {
			if k == "Sid" || k == "Effect" || k == "Version" {
				out[k] = el
				continue
			}
			out[k] = canonical(el)
		}
		return out
	}
	return v
}
