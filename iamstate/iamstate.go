// Package iamstate is the JSON shape of a vendor's IAM footprint in one account: what
// `rollout render` prints from the spec, and what `rollout snapshot` reads from a live
// account, so the two can be compared field for field.
package iamstate

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
