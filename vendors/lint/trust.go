// Trust policies: what only they may hold (Principal, STS actions, no Resource), and trust
// that is too broad: anyone, a whole account, any identity of a web identity provider, or a
// cross-account AssumeRole without an external ID.

package lint

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/internal/validate"
)

// trustPolicy lints a role's trust policy.
func (c *checker) trustPolicy(where Finding, doc map[string]any) {
	for _, st := range c.document(where, doc, true) {
		w := st.where
		for _, k := range []string{"Resource", "NotResource"} {
			if _, ok := st.raw[k]; ok {
				c.add(Error, RuleGrammar, w, "%s does not belong in a trust policy (the resource is the role itself): remove it", k)
			}
		}
		if _, ok := st.raw["NotPrincipal"]; ok {
			c.add(Error, RuleGrammar, w, "NotPrincipal cannot be used in a role trust policy: name the trusted principals in Principal")
		}
		p, ok := st.raw["Principal"]
		if !ok {
			if _, not := st.raw["NotPrincipal"]; !not {
				c.add(Error, RuleGrammar, w, "a trust statement needs a Principal naming who may assume the role")
			}
			continue
		}
		principals := c.principals(w, p)
		if !st.allow {
			continue
		}
		c.trustBreadth(st, principals)
	}
}

// principals parses a Principal element into type → identifiers ("*" becomes AWS: "*").
func (c *checker) principals(w Finding, p any) map[string][]string {
	out := map[string][]string{}
	switch x := p.(type) {
	case string:
		if x != "*" {
			c.add(Error, RuleGrammar, w, "Principal %q: use \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:role/Vendor\"}", x)
			return out
		}
		out["AWS"] = []string{"*"}
	case map[string]any:
		if len(x) == 0 {
			c.add(Error, RuleGrammar, w, "Principal is empty: name the principals that may assume the role")
		}
		for _, t := range slices.Sorted(maps.Keys(x)) {
			if !principalTypes[t] {
				c.add(Error, RuleGrammar, w, "principal type %q does not exist: use AWS, Service, Federated or CanonicalUser (case-sensitive)", t)
				continue
			}
			ids, _ := c.stringList(w, x, t)
			out[t] = ids
		}
	default:
		c.add(Error, RuleGrammar, w, "Principal must be \"*\" or an object of principal type → identifiers, not %s", jsonText(p))
	}
	return out
}

// trustBreadth reports trust in anyone, in whole accounts and in any identity of a web
// identity provider, and cross-account AssumeRole without an external ID.
func (c *checker) trustBreadth(st statement, principals map[string][]string) {
	w := st.where
	cross, anyone := false, false
	for _, id := range principals["AWS"] {
		switch {
		case id == "*":
			anyone = true
			c.add(Error, RuleBroadTrust, w, "Principal \"*\" lets any AWS principal in any account assume the role (conditions are easy to get wrong): trust the vendor's role ARNs instead")
		case isAccountRoot(id):
			c.add(Warning, RuleBroadTrust, w, "trusts the whole account %s (%s): any user or role there whose own policies allow sts:AssumeRole can assume this role; trust the vendor's specific role ARNs instead", accountOf(id), id)
		}
		if acct := accountOf(id); acct != "" && acct != c.grant.AccountID {
			cross = true
		}
	}
	for _, id := range principals["Service"] {
		if strings.Contains(id, "*") {
			c.add(Error, RuleBroadTrust, w, "Service principal %q has a wildcard: name the service, e.g. ec2.amazonaws.com", id)
		}
	}
	if len(principals["Federated"]) > 0 && st.allows("sts:AssumeRoleWithWebIdentity") {
		for _, provider := range principals["Federated"] {
			if provider == "*" || strings.Contains(provider, ":saml-provider/") {
				continue
			}
			host := provider
			if i := strings.Index(provider, ":oidc-provider/"); i >= 0 {
				host = provider[i+len(":oidc-provider/"):]
			}
			if !hasConditionPrefix(st.raw, host+":") {
				c.add(Warning, RuleBroadTrust, w, "trusts web identities from %s with no condition on its claims (%s:aud, %s:sub): any identity that provider issues tokens to, in any organization, could assume the role; add a StringEquals condition on the audience or subject", provider, host, host)
			}
		}
	}
	if cross && !anyone && st.allows("sts:AssumeRole") && len(conditionValues(st.raw, "sts:ExternalId")) == 0 {
		fix := "add a StringEquals condition on sts:ExternalId if the vendor supports one"
		if c.spec != nil && c.spec.Handoff.ExternalIDParam != "" {
			fix = fmt.Sprintf("set the spec parameter %q to the external ID the vendor gives you (the spec then adds the condition)", c.spec.Handoff.ExternalIDParam)
		}
		c.add(Info, RuleNoExternalID, w, "cross-account sts:AssumeRole without an sts:ExternalId condition: another customer of the vendor could have the vendor act on this account (the confused-deputy problem); %s", fix)
	}
	for _, id := range conditionValues(st.raw, "sts:ExternalId") {
		if !c.externalIDs[id] {
			c.externalID(w, id)
		}
	}
}

func hasConditionPrefix(m map[string]any, prefix string) bool {
	block, _ := m["Condition"].(map[string]any)
	for _, keys := range block {
		km, _ := keys.(map[string]any)
		for k := range km {
			if strings.HasPrefix(strings.ToLower(k), strings.ToLower(prefix)) {
				return true
			}
		}
	}
	return false
}

// isAccountRoot reports whether an AWS principal is a whole account: a bare account ID or
// arn:PARTITION:iam::ACCOUNT:root.
func isAccountRoot(id string) bool {
	if validate.AccountID(id) == nil {
		return true
	}
	parts := strings.SplitN(id, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5] == "root"
}

// accountOf returns the account ID an AWS principal belongs to, or "".
func accountOf(id string) string {
	if validate.AccountID(id) == nil {
		return id
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}
