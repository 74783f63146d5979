package vendors

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Templates use ${name} like Terraform's templatefile, so vendor modules port line for line.
// IAM policy variables (${aws:username}, ${*}, ${?}, ${$}) pass through untouched, and $${
// is an escaped literal "${", as in Terraform.
var (
	refPattern = regexp.MustCompile(`\$\$\{|\$\{([^}]*)\}`)
	exactRef   = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

// scope holds the values templates can see: built-ins, parameters and locals.
type scope map[string]any

// isPolicyVariable reports whether ${name} is an IAM policy variable rather than ours.
func isPolicyVariable(name string) bool {
	return strings.Contains(name, ":") || name == "*" || name == "?" || name == "$"
}

// refs returns the names a template string refers to (not IAM policy variables).
func refs(s string) []string {
	var out []string
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		if m[0] == "$${" || isPolicyVariable(m[1]) {
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// interpolate fills a template string. An exact "${name}" yields the value itself, which may
// be a list or a map; anywhere else a reference must be a scalar.
func (sc scope) interpolate(s string) (any, error) {
	if m := exactRef.FindStringSubmatch(s); m != nil {
		v, ok := sc[m[1]]
		if !ok {
			return nil, fmt.Errorf("unknown variable ${%s}", m[1])
		}
		if lk, ok := v.(lazyKMS); ok {
			return lk.resolve()
		}
		return v, nil
	}
	var firstErr error
	out := refPattern.ReplaceAllStringFunc(s, func(tok string) string {
		if tok == "$${" {
			return "${"
		}
		name := tok[2 : len(tok)-1]
		if isPolicyVariable(name) {
			return tok
		}
		v, ok := sc[name]
		if !ok {
			if firstErr == nil {
				firstErr = fmt.Errorf("unknown variable ${%s}", name)
			}
			return tok
		}
		if lk, ok := v.(lazyKMS); ok {
			arn, err := lk.resolve()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return arn
		}
		str, err := scalarString(v)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("${%s} inside %q: %w", name, s, err)
		}
		return str
	})
	return out, firstErr
}

func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	default:
		return "", fmt.Errorf("a %s cannot be placed inside a string; use it as the whole value", kindOf(v))
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case []any, []string:
		return "list"
	case map[string]any, map[string]string:
		return "map"
	case nil:
		return "null"
	default:
		return "scalar"
	}
}

// eval evaluates an expression tree: strings are templates, list elements that evaluate to
// lists are spliced in (so ["${arns}"] is the list itself), maps are evaluated key and value.
func (sc scope) eval(node any) (any, error) {
	switch x := node.(type) {
	case string:
		return sc.interpolate(x)
	case []any:
		out := make([]any, 0, len(x))
		for i, el := range x {
			v, err := sc.eval(el)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if s, ok := el.(string); ok && exactRef.MatchString(s) {
				if list, ok := asList(v); ok {
					out = append(out, list...)
					continue
				}
			}
			out = append(out, v)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			kv, err := sc.interpolate(k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			ks, err := scalarString(kv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			v, err := sc.eval(x[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[ks] = v
		}
		return out, nil
	default:
		return x, nil
	}
}

// evalStrings evaluates an expression that must yield one or more strings.
func (sc scope) evalStrings(node any) ([]string, error) {
	v, err := sc.eval(node)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("want a string or a list of strings, got a %s", kindOf(v))
	}
	out := make([]string, 0, len(list))
	for i, el := range list {
		s, err := scalarString(el)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// evalString evaluates a template that must yield a single string.
func (sc scope) evalString(tpl string) (string, error) {
	v, err := sc.interpolate(tpl)
	if err != nil {
		return "", err
	}
	return scalarString(v)
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// truthy is the meaning of a `when` entry: true, a non-empty string, list or map.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case map[string]string:
		return len(x) > 0
	case float64:
		return x != 0
	case int:
		return x != 0
	}
	return true
}

// holds reports whether every condition of a `when` list is met.
func (sc scope) holds(c Conditions) (bool, error) {
	for _, cond := range c {
		name, negate := strings.CutPrefix(cond, "!")
		v, ok := sc[name]
		if !ok {
			return false, fmt.Errorf("when: unknown parameter or local %q", name)
		}
		if truthy(v) == negate {
			return false, nil
		}
	}
	return true, nil
}
