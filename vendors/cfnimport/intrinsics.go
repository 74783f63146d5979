// Intrinsic functions in string positions: !Ref to parameters and pseudo parameters, !Sub,
// !Join and !FindInMap, translated into spec templates (${name}) and lookup locals. What has
// no spec equivalent is reported as an Issue and left out.

package cfnimport

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/vendors"
)

// str converts a value that must be a string: a literal, !Ref to a parameter or pseudo
// parameter, !Sub, or !Join of those.
func (c *converter) str(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return escapeLiteral(x)
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x)
	case map[string]any:
		if len(x) != 1 {
			break
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return c.ref(name, path)
			case "Fn::Sub":
				return c.sub(arg, path)
			case "Fn::FindInMap":
				return c.findInMap(arg, path)
			case "Fn::Join":
				parts, _ := arg.([]any)
				if len(parts) == 2 {
					delim, _ := parts[0].(string)
					items, _ := parts[1].([]any)
					var out []string
					for i, it := range items {
						out = append(out, c.str(it, fmt.Sprintf("%s.Fn::Join[%d]", path, i)))
					}
					return strings.Join(out, delim)
				}
			default:
				c.issue(path, fmt.Sprintf("intrinsic function %s is not supported; replace it with a parameter or a literal", fn))
				return ""
			}
		}
	}
	c.issue(path, fmt.Sprintf("expected a string, got %T", v))
	return ""
}

// escapeLiteral writes template text as a spec literal: CloudFormation's text has no ${name}
// of ours (its !Sub is translated on its own), so every "${" in it, an IAM policy variable
// included, becomes the spec's escaped "$${".
func escapeLiteral(s string) string { return strings.ReplaceAll(s, "${", "$${") }

var pseudo = map[string]string{
	"AWS::AccountId": "${account_id}",
	"AWS::Partition": "${partition}",
	"AWS::Region":    "${region}",
}

func (c *converter) ref(name, path string) string {
	if t, ok := pseudo[name]; ok {
		return t
	}
	if c.params[name] {
		return "${" + name + "}"
	}
	if res, ok := c.resources[name].(map[string]any); ok {
		c.issue(path, fmt.Sprintf("!Ref %s (a %v) is supported only in ManagedPolicyArns, PermissionsBoundary and Roles", name, res["Type"]))
		return ""
	}
	c.issue(path, fmt.Sprintf("!Ref %s: no such parameter or pseudo parameter", name))
	return ""
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (c *converter) sub(arg any, path string) string {
	tpl, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		tpl = x
	case []any:
		if len(x) == 2 {
			tpl, _ = x[0].(string)
			vars, _ = x[1].(map[string]any)
		}
	}
	return subVar.ReplaceAllStringFunc(tpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "$${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return c.str(v, path+".Fn::Sub."+name)
		}
		if strings.Contains(name, ".") {
			c.issue(path, fmt.Sprintf("!Sub ${%s}: resource attributes are not supported", name))
			return m
		}
		return c.ref(name, path)
	})
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

// findInMap translates Fn::FindInMap [Map, TopKey, SecondKey] where one key is a literal and
// the other a !Ref to a parameter or pseudo parameter: a lookup local over the mapping's
// column (or row), with no default, so an unknown key fails as it does in CloudFormation.
// Two literal keys give the value itself.
func (c *converter) findInMap(arg any, path string) string {
	args, _ := arg.([]any)
	if len(args) != 3 {
		c.issue(path, "Fn::FindInMap takes a map name and two keys")
		return ""
	}
	mapName, _ := args[0].(string)
	mapping, ok := c.mappings[mapName].(map[string]any)
	if !ok {
		c.issue(path, fmt.Sprintf("Fn::FindInMap: no mapping %v in Mappings", args[0]))
		return ""
	}
	top, topLit := literalKey(args[1])
	second, secondLit := literalKey(args[2])
	value := func(v any, where string) (string, bool) {
		switch x := v.(type) {
		case string:
			return escapeLiteral(x), true
		case bool, int, int64, uint64, float64:
			return fmt.Sprint(x), true
		}
		c.issue(path, fmt.Sprintf("Fn::FindInMap: %s is not a string", where))
		return "", false
	}
	switch {
	case topLit && secondLit:
		row, _ := mapping[top].(map[string]any)
		v, ok := row[second]
		if !ok {
			c.issue(path, fmt.Sprintf("Fn::FindInMap: %s has no %s.%s", mapName, top, second))
			return ""
		}
		out, _ := value(v, mapName+"."+top+"."+second)
		return out
	case !topLit && !secondLit:
		c.issue(path, "Fn::FindInMap with two !Ref keys is not supported; one key must be a literal")
		return ""
	}
	// One key varies: the local maps its values to the cells of the fixed key.
	refArg, fixed := args[1], second
	if topLit {
		refArg, fixed = args[2], top
	}
	refName := ""
	if m, ok := refArg.(map[string]any); ok && len(m) == 1 {
		refName, _ = m["Ref"].(string)
	}
	if refName == "" {
		c.issue(path, "Fn::FindInMap: a key must be a literal or a !Ref to a parameter")
		return ""
	}
	key := c.ref(refName, path)
	if key == "" {
		return ""
	}
	name := identifierOf(mapName + "_" + strings.ReplaceAll(refName, "AWS::", "") + "_" + fixed)
	if c.params[name] {
		c.issue(path, fmt.Sprintf("Fn::FindInMap: the local it needs, %s, would shadow a parameter", name))
		return ""
	}
	if c.mapLocals == nil {
		c.mapLocals = map[string]bool{}
	}
	if !c.mapLocals[name] {
		entries := map[string]any{}
		if topLit {
			// The row mapping[top], keyed by the second key.
			row, _ := mapping[top].(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(row)) {
				if v, ok := value(row[k], mapName+"."+top+"."+k); ok {
					entries[k] = v
				}
			}
		} else {
			// The column of the second key, keyed by the top key.
			for _, k := range slices.Sorted(maps.Keys(mapping)) {
				row, _ := mapping[k].(map[string]any)
				if v, ok := row[second]; ok {
					if s, ok := value(v, mapName+"."+k+"."+second); ok {
						entries[k] = s
					}
				}
			}
		}
		c.spec.Locals = append(c.spec.Locals, vendors.Local{Name: name, Lookup: key, Map: entries})
		c.mapLocals[name] = true
	}
	return "${" + name + "}"
}

func literalKey(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// identifierOf makes a spec identifier of a name built from template keys.
func identifierOf(s string) string {
	s = nonIdent.ReplaceAllString(s, "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "m_" + s
	}
	return s
}
