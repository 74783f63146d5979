package components

import (
	"strings"

	"github.com/byoc-access/byoc-access/vendors"
)

// attachmentName is one role attachment's logical name, and the name an earlier release gave
// it, when stacks deployed then must be told about it.
type attachmentName struct {
	att   vendors.RoleAttachment
	name  string
	alias string
}

// attachmentNames names a role's attachments uniquely, after the role's IAM name and the
// policy's: a spec policy's IAM name, or a managed policy's whole ARN. Earlier releases named
// them after the role's and policy's spec IDs, and a managed policy after the ARN's last
// segment only, so "arn:aws:iam::aws:policy/X" and "arn:aws:iam::123456789012:policy/X", or a
// spec policy with ID "X" and a managed policy named X, gave two resources one URN and the
// update failed; and renaming a spec ID replaced the attachment: created (a no-op, the policy
// is already attached), then the old one deleted, which detaches the policy.
//
// Each renamed attachment carries its old name as an alias, so the engine carries its state
// over, but only when the old name was unambiguous: a name two attachments shared could not
// have been deployed (the duplicate URN failed the update), and the engine refuses two
// resources aliasing one URN. (URN names may hold "::", so an ARN is used as is.)
func attachmentNames(prefix, oldPrefix string, atts []vendors.RoleAttachment, g *vendors.Grant) []attachmentName {
	oldName := func(a vendors.RoleAttachment) string {
		if a.PolicyID != "" {
			return oldPrefix + a.PolicyID
		}
		return oldPrefix + a.ARN[strings.LastIndex(a.ARN, "/")+1:]
	}
	uses := map[string]int{}
	for _, a := range atts {
		uses[oldName(a)]++
	}
	out := make([]attachmentName, 0, len(atts))
	for _, a := range atts {
		n := attachmentName{att: a, name: prefix + a.ARN}
		if a.PolicyID != "" {
			p, _ := g.Policy(a.PolicyID)
			n.name = prefix + p.Name
		}
		if old := oldName(a); uses[old] == 1 && old != n.name {
			n.alias = old
		}
		out = append(out, n)
	}
	return out
}
