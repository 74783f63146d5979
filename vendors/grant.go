// What a resolved spec is: the grant of one vendor in one account, its policies and roles
// with their documents filled in, and their ARNs. Resolve (resolve.go) makes a grant; the
// component creates exactly it; render prints it.

package vendors

import (
	"fmt"
	"sort"
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

// SortedRoleNames returns the role names in a stable order, for reports.
func (g *Grant) SortedRoleNames() []string {
	out := make([]string, len(g.Roles))
	for i, r := range g.Roles {
		out[i] = r.Name
	}
	sort.Strings(out)
	return out
}
