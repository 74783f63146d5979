package presets

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors/cfnimport"
)

// cfnEval evaluates the parts of a CloudFormation template a vendor publishes its access in,
// the way CloudFormation does for one set of parameter values: Ref, Fn::Sub, Fn::If,
// conditions (Fn::Equals, Fn::Not) and AWS::NoValue. It is deliberately independent of the
// spec language and of cfnimport's translation, so the presets are checked against the
// template's own meaning.
type cfnEval struct {
	t          *testing.T
	params     map[string]any
	conditions map[string]any
}

// newCFNEval fills parameters with the template's defaults, then the given values.
func newCFNEval(t *testing.T, tpl map[string]any, given map[string]string, pseudo map[string]string) *cfnEval {
	t.Helper()
	e := &cfnEval{t: t, params: map[string]any{}}
	if ps, ok := tpl["Parameters"].(map[string]any); ok {
		for name, def := range ps {
			if d, ok := def.(map[string]any)["Default"]; ok {
				e.params[name] = fmt.Sprint(d)
			}
		}
	}
	for k, v := range given {
		e.params[k] = v
	}
	for k, v := range pseudo {
		e.params[k] = v
	}
	e.conditions, _ = tpl["Conditions"].(map[string]any)
	return e
}

var noValue = struct{ noValue bool }{true}

func (e *cfnEval) condition(name string) bool {
	expr, ok := e.conditions[name]
	require.True(e.t, ok, "condition %s is defined", name)
	return e.cond(expr)
}

func (e *cfnEval) cond(expr any) bool {
	m := expr.(map[string]any)
	require.Len(e.t, m, 1)
	for fn, arg := range m {
		args := arg.([]any)
		switch fn {
		case "Fn::Equals":
			return fmt.Sprint(e.eval(args[0])) == fmt.Sprint(e.eval(args[1]))
		case "Fn::Not":
			return !e.cond(args[0])
		case "Condition":
			return e.condition(arg.(string))
		}
		e.t.Fatalf("condition function %s is not evaluated by this test", fn)
	}
	return false
}

var subRef = regexp.MustCompile(`\$\{([^}!]+)\}`)

func (e *cfnEval) eval(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				switch fn {
				case "Ref":
					if arg == "AWS::NoValue" {
						return noValue
					}
					val, ok := e.params[arg.(string)]
					require.True(e.t, ok, "Ref %v is a parameter", arg)
					return val
				case "Fn::Sub":
					tpl, vars := "", map[string]any{}
					if s, ok := arg.(string); ok {
						tpl = s
					} else {
						list := arg.([]any)
						tpl, vars = list[0].(string), list[1].(map[string]any)
					}
					return subRef.ReplaceAllStringFunc(tpl, func(m string) string {
						name := m[2 : len(m)-1]
						if v, ok := vars[name]; ok {
							return fmt.Sprint(e.eval(v))
						}
						val, ok := e.params[name]
						require.True(e.t, ok, "${%s} in Fn::Sub is a parameter", name)
						return fmt.Sprint(val)
					})
				case "Fn::If":
					args := arg.([]any)
					if e.condition(args[0].(string)) {
						return e.eval(args[1])
					}
					return e.eval(args[2])
				case "Condition":
					return e.condition(arg.(string))
				}
			}
		}
		out := map[string]any{}
		for k, el := range x {
			if v := e.eval(el); v != noValue {
				out[k] = v
			}
		}
		return out
	case []any:
		out := []any{}
		for _, el := range x {
			if v := e.eval(el); v != noValue {
				out = append(out, v)
			}
		}
		return out
	}
	return v
}

// created reports whether a resource exists with these parameters.
func (e *cfnEval) created(res map[string]any) bool {
	name, ok := res["Condition"].(string)
	return !ok || e.condition(name)
}

func parseCFN(t *testing.T, rel string) map[string]any {
	t.Helper()
	tpl, err := cfnimport.ParseTemplate(rel, []byte(readShared(t, rel)))
	require.NoError(t, err)
	return tpl
}
