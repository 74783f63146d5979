// What IAM accepts, held to a resolved grant: name and path syntax, sizes, the shape of a
// policy document, names unique per account. Resolve refuses what breaks them. The limits
// themselves are in internal/iamlimits, which vendors/lint reports from too.

package vendors

import (
	"fmt"
	"strings"

	"github.com/byoc-access/byoc-access/vendors/internal/iamlimits"
)

// checkDocumentShape refuses what IAM would refuse in any policy document: a wrong Version,
// no statements, a statement without Effect or Action, and repeated Sids.
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

func checkPolicy(p Policy) error {
	if p.Name == "" || len(p.Name) > iamlimits.PolicyName || !iamlimits.NamePattern.MatchString(p.Name) {
		return fmt.Errorf("name %q: a policy name is 1 to %d characters of letters, digits and +=,.@-_", p.Name, iamlimits.PolicyName)
	}
	if err := checkPath(p.Path); err != nil {
		return err
	}
	if len(p.Description) > iamlimits.Description {
		return fmt.Errorf("description is %d characters; IAM allows %d", len(p.Description), iamlimits.Description)
	}
	if n := iamlimits.DocumentChars(p.Document); n > iamlimits.ManagedPolicyChars {
		return fmt.Errorf("document is %d characters without white space; a managed policy may have at most %d: split it into two policies", n, iamlimits.ManagedPolicyChars)
	}
	return nil
}

func checkPath(path string) error {
	if len(path) > iamlimits.Path || !iamlimits.PathPattern.MatchString(path) {
		return fmt.Errorf("path %q: an IAM path starts and ends with / (e.g. /StreamNative/), at most %d characters", path, iamlimits.Path)
	}
	return nil
}

// checkUnique refuses two policies or two roles of one grant with the same name, since IAM
// names are unique per account and case-insensitive.
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
