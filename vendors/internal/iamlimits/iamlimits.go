// Package iamlimits holds IAM's documented limits on names, paths, documents and counts,
// written once for the two places that hold a grant to them: vendors.Resolve refuses a grant
// that breaks one, so nothing invalid reaches a deployment, and vendors/lint reports them as
// findings with severities, telling a default quota that can be raised from a hard limit.
package iamlimits

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
)

// Lengths of names and descriptions, in characters.
const (
	RoleName    = 64
	PolicyName  = 128 // managed and inline policies alike
	Path        = 512
	Description = 1000
)

// Document sizes, in characters without white space, which is how IAM counts them.
const (
	// ManagedPolicyChars is the most one managed policy may hold; it cannot be raised.
	ManagedPolicyChars = 6144
	// TrustPolicyChars is the default quota on a role's trust policy;
	// TrustPolicyCharsRaised is the most a quota increase gives.
	TrustPolicyChars       = 2048
	TrustPolicyCharsRaised = 4096
	// InlinePolicyChars is the most all inline policies of one role hold together.
	InlinePolicyChars = 10240
)

// Counts.
const (
	// ManagedPerRole is the default quota on managed policies attached to one role;
	// ManagedPerRoleRaised is the most a quota increase gives.
	ManagedPerRole       = 10
	ManagedPerRoleRaised = 20
	// TagsPerResource is the most tags one role or policy may have.
	TagsPerResource = 50
)

var (
	// NamePattern is what IAM accepts in role and policy names: letters, digits and +=,.@_-.
	NamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// PathPattern is an IAM path: / alone, or printable ASCII between a leading and a
	// trailing /.
	PathPattern = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
)

// DocumentChars counts a policy document's characters as IAM does for its quotas: white space
// excluded, and <, > and & as one character each (Go's JSON would write each as six).
func DocumentChars(doc map[string]any) int {
	if doc == nil {
		return 0
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc)
	n := 0
	for _, r := range b.String() {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}
