// Trust policies: a role's trust statements built into the document IAM stores, the way
// Terraform's aws_iam_policy_document writes it, and the principals a statement may name.

package vendors

import (
	"fmt"
	"strings"

	"github.com/byoc-access/byoc-access/internal/validate"
)

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

// checkPrincipals keeps a trust statement to principals that name someone: never "*", and
// AWS principals only as account IDs or ARNs.
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
			if validate.AccountID(id) != nil && !arnPattern.MatchString(id) {
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
	return asListOfStrings(list)
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
