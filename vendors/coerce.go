// Parameter values as they arrive (strings from --param or stack config, YAML or JSON values)
// turned into the type the spec declares for them.

package vendors

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// coerce turns a value into the parameter's type: string, bool, float64, []any of strings
// or map[string]any of strings.
func coerce(p Parameter, v any) (any, error) {
	switch p.Type {
	case TypeString:
		switch x := v.(type) {
		case nil:
			return "", nil
		case string:
			return x, nil
		case bool, int, int64, uint64, float64:
			return scalarString(x)
		}
	case TypeBool:
		switch x := v.(type) {
		case nil:
			return false, nil
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("want true or false, got %q", x)
			}
			return b, nil
		}
	case TypeNumber:
		switch x := v.(type) {
		case nil:
			return float64(0), nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("want a number, got %q", x)
			}
			return f, nil
		}
	case TypeList:
		return coerceList(v)
	case TypeMap:
		return coerceMap(v)
	default:
		return nil, fmt.Errorf("unknown type %q", p.Type)
	}
	return nil, fmt.Errorf("want a %s, got %T", p.Type, v)
}

// coerceList accepts a list, a JSON array string, or a comma-separated string.
func coerceList(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return []any{}, nil
	case []string:
		return asListOfStrings(x), nil
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			s, err := scalarString(el)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = s
		}
		return out, nil
	case string:
		t := strings.TrimSpace(x)
		if t == "" {
			return []any{}, nil
		}
		if strings.HasPrefix(t, "{") {
			// Split at commas, a JSON object would become list items, and reach ARNs.
			return nil, errors.New("want a list: a JSON array of strings or a,b,c; got a JSON object")
		}
		if strings.HasPrefix(t, "[") {
			var list []any
			if err := json.Unmarshal([]byte(t), &list); err != nil {
				return nil, fmt.Errorf("want a JSON array of strings: %v", err)
			}
			return coerceList(list)
		}
		parts := strings.Split(t, ",")
		out := make([]any, len(parts))
		for i, s := range parts {
			out[i] = strings.TrimSpace(s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

// coerceMap accepts a map, a JSON object string, or "k=v,k2=v2".
func coerceMap(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			s, err := scalarString(el)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			out[k] = s
		}
		return out, nil
	case string:
		t := strings.TrimSpace(x)
		if t == "" {
			return map[string]any{}, nil
		}
		if strings.HasPrefix(t, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(t), &m); err != nil {
				return nil, fmt.Errorf("want a JSON object of strings: %v", err)
			}
			return coerceMap(m)
		}
		out := map[string]any{}
		for _, kv := range strings.Split(t, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("want key=value pairs separated by commas, got %q", kv)
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a map of strings, got %T", v)
}

func asListOfStrings(x []string) []any {
	out := make([]any, len(x))
	for i, s := range x {
		out[i] = s
	}
	return out
}
