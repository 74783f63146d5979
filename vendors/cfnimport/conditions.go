// Template Conditions: those that compare one parameter with a literal (or negate such a
// comparison) become spec locals, so resources with a Condition and !If branches can use them
// as `when`.

package cfnimport

import (
	"fmt"
	"maps"
	"slices"

	"github.com/byoc-access/byoc-access/vendors"
)

// conditions turns template conditions that compare one parameter (or pseudo parameter) with
// a literal, or negate such a comparison, into lookup locals that are true or false, so
// resources and !If branches can use them as `when`. Other forms are reported.
func (c *converter) conditions(conds map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(conds)) {
		path := "Conditions." + name
		local, err := c.condition(name, conds[name])
		if err != nil {
			c.issue(path, fmt.Sprintf("condition %s: %v; the resources and branches that use it are listed too", name, err))
			continue
		}
		c.spec.Locals = append(c.spec.Locals, local)
		c.conds[name] = local.Name
	}
}

func (c *converter) condition(name string, expr any) (vendors.Local, error) {
	local := vendors.Local{Name: name}
	if !vendors.IsIdentifier(name) {
		return local, fmt.Errorf("the name is not a valid spec identifier")
	}
	if c.params[name] {
		// Conditions and parameters are separate namespaces in CloudFormation, not in a spec.
		local.Name = name + "Condition"
		if c.params[local.Name] {
			return local, fmt.Errorf("its name is also a parameter's")
		}
	}
	negate := false
	m, _ := expr.(map[string]any)
	if not, ok := m["Fn::Not"].([]any); ok && len(m) == 1 && len(not) == 1 {
		negate = true
		m, _ = not[0].(map[string]any)
	}
	eq, ok := m["Fn::Equals"].([]any)
	if !ok || len(m) != 1 || len(eq) != 2 {
		return local, fmt.Errorf("only Fn::Equals of a parameter and a literal, or Fn::Not of one, translate")
	}
	key, lit, ok := c.equalsOperands(eq[0], eq[1])
	if !ok {
		if key, lit, ok = c.equalsOperands(eq[1], eq[0]); !ok {
			return local, fmt.Errorf("only Fn::Equals of a parameter (or AWS::Partition, AWS::Region, AWS::AccountId) and a literal translates")
		}
	}
	local.Lookup = key
	local.Map = map[string]any{lit: !negate}
	local.Default = negate
	return local, nil
}

// equalsOperands accepts {Ref: P} and a literal, returning the key template and the literal.
func (c *converter) equalsOperands(ref, lit any) (string, string, bool) {
	m, ok := ref.(map[string]any)
	if !ok || len(m) != 1 {
		return "", "", false
	}
	name, ok := m["Ref"].(string)
	if !ok {
		return "", "", false
	}
	key, isPseudo := pseudo[name]
	if !isPseudo {
		if !c.params[name] {
			return "", "", false
		}
		key = "${" + name + "}"
	}
	if s, ok := literalKey(lit); ok {
		return key, s, true
	}
	return "", "", false
}

// resourceWhen is the `when` of a resource with a Condition, or nil.
func (c *converter) resourceWhen(id string, res map[string]any) vendors.Conditions {
	raw, ok := res["Condition"]
	if !ok {
		return nil
	}
	name, _ := raw.(string)
	if local, ok := c.conds[name]; ok {
		return vendors.Conditions{local}
	}
	c.issue("Resources."+id+".Condition", fmt.Sprintf("resource condition %v was not translated (see Conditions); the resource is always created", raw))
	return nil
}

// ifBranches splits {Fn::If: [cond, then, else]} when cond was translated; it reports an
// !If on a condition that was not.
func (c *converter) ifBranches(v any, path string) (cond string, yes, no any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, nil, false
	}
	args, isIf := m["Fn::If"].([]any)
	if !isIf {
		return "", nil, nil, false
	}
	if len(args) != 3 {
		c.issue(path, "Fn::If takes a condition name and two values")
		return "", nil, nil, false
	}
	name, _ := args[0].(string)
	local, known := c.conds[name]
	if !known {
		c.issue(path, fmt.Sprintf("Fn::If on condition %v, which was not translated; nothing is attached here", args[0]))
		return "", nil, nil, false
	}
	return local, args[1], args[2], true
}
