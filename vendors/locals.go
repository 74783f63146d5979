// Spec locals: values computed once from parameters and earlier locals (lookup tables,
// forEach, concat, firstNonEmpty, KMS key ARNs) before policies and roles are filled.

package vendors

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// evalLocal computes one local. A local whose `when` does not hold is an empty list, so
// that later templates and conditions can use it without a nil check.
func evalLocal(sc scope, l Local, t Target) (any, error) {
	var v any
	var err error
	if ok, err := sc.holds(l.When); err != nil {
		return nil, err
	} else if !ok {
		return []any{}, nil
	}
	switch {
	case l.Lookup != "":
		if v, err = evalLookup(sc, l); err != nil {
			return nil, err
		}
	case l.ForEach != "":
		list, ok := asList(sc[l.ForEach])
		if !ok {
			return nil, fmt.Errorf("forEach: %q is not a list", l.ForEach)
		}
		out := make([]any, 0, len(list))
		for _, el := range list {
			inner := scope{}
			for k, x := range sc {
				inner[k] = x
			}
			inner["each"] = el
			s, err := inner.evalString(l.Format)
			if err != nil {
				return nil, fmt.Errorf("format: %w", err)
			}
			out = append(out, s)
		}
		v = out
	case len(l.Concat) > 0:
		out := []any{}
		for i, e := range l.Concat {
			x, err := sc.eval(e)
			if err != nil {
				return nil, fmt.Errorf("concat[%d]: %w", i, err)
			}
			if list, ok := asList(x); ok {
				out = append(out, list...)
			} else {
				out = append(out, x)
			}
		}
		v = out
	case len(l.FirstNonEmpty) > 0:
		v = []any{}
		for i, e := range l.FirstNonEmpty {
			x, err := sc.eval(e)
			if err != nil {
				return nil, fmt.Errorf("firstNonEmpty[%d]: %w", i, err)
			}
			if truthy(x) {
				v = x
				break
			}
		}
	case l.KMSKeyARN != "":
		keyID, err := sc.evalString(l.KMSKeyARN)
		if err != nil {
			return nil, fmt.Errorf("kmsKeyArn: %w", err)
		}
		// Deferred: the lookup is an AWS API read, so it is only done when used.
		return lazyKMS{keyID: keyID, lookup: t.LookupKMSKeyARN}, nil
	default:
		if v, err = sc.eval(l.Value); err != nil {
			return nil, err
		}
	}
	if list, ok := asList(v); ok {
		if l.Compact {
			kept := list[:0]
			for _, el := range list {
				if s, ok := el.(string); !ok || s != "" {
					kept = append(kept, el)
				}
			}
			list = kept
		}
		if l.Distinct {
			seen := map[string]bool{}
			kept := []any{}
			for _, el := range list {
				key := fmt.Sprint(el)
				if !seen[key] {
					seen[key] = true
					kept = append(kept, el)
				}
			}
			list = kept
		}
		v = list
	}
	return v, nil
}

// evalLookup picks the expression for a key: an exact Map entry, else the first matching
// pattern, else Default. Only the chosen expression is evaluated.
func evalLookup(sc scope, l Local) (any, error) {
	key, err := sc.evalString(l.Lookup)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	if expr, ok := l.Map[key]; ok {
		v, err := sc.eval(expr)
		if err != nil {
			return nil, fmt.Errorf("map[%s]: %w", key, err)
		}
		return v, nil
	}
	for i, p := range l.Patterns {
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("patterns[%d].regex %q does not compile: %v", i, p.Regex, err)
		}
		if re.MatchString(key) {
			v, err := sc.eval(p.Value)
			if err != nil {
				return nil, fmt.Errorf("patterns[%d].value: %w", i, err)
			}
			return v, nil
		}
	}
	if l.Default == nil {
		known := slices.Sorted(maps.Keys(l.Map))
		return nil, fmt.Errorf("lookup: no entry for %q; the known values are %s", key, strings.Join(known, ", "))
	}
	v, err := sc.eval(l.Default)
	if err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	return v, nil
}

// lazyKMS is a KMS key lookup that runs only if a later local actually uses its value, so
// that customers who pass explicit key ARNs need no KMS read access and no AWS plugin call.
type lazyKMS struct {
	keyID  string
	lookup func(string) (string, error)
}

func (l lazyKMS) resolve() (string, error) {
	if l.lookup == nil {
		return "", fmt.Errorf("the KMS key %s must be looked up in the account, and no lookup is available here; pass the key ARNs as parameters", l.keyID)
	}
	arn, err := l.lookup(l.keyID)
	if err != nil {
		return "", fmt.Errorf("look up KMS key %s: %w", l.keyID, err)
	}
	return arn, nil
}
