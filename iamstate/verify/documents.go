package verify

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/byoc-access/byoc-access/iamstate"
)

func allowedActions(doc any) []string {
	set := map[string]bool{}
	for _, s := range iamstate.Statements(doc) {
		if s["Effect"] != "Allow" {
			continue
		}
		for _, a := range iamstate.Strings(s["Action"]) {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func principals(doc any) []string {
	set := map[string]bool{}
	for _, s := range iamstate.Statements(doc) {
		switch p := s["Principal"].(type) {
		case string:
			set["*:"+p] = true
		case map[string]any:
			for typ, ids := range p {
				for _, id := range iamstate.Strings(ids) {
					set[typ+":"+id] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// conditions flattens every condition to "Sid: test variable=value" items.
func conditions(doc any) []string {
	set := map[string]bool{}
	for _, s := range iamstate.Statements(doc) {
		sid, _ := s["Sid"].(string)
		cond, _ := s["Condition"].(map[string]any)
		for test, vars := range cond {
			vm, _ := vars.(map[string]any)
			for v, vals := range vm {
				for _, val := range iamstate.Strings(vals) {
					set[fmt.Sprintf("%s: %s %s=%s", sid, test, v, val)] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func filter(items []string, sub string) []string {
	var out []string
	for _, it := range items {
		if strings.Contains(it, sub) {
			out = append(out, it)
		}
	}
	return out
}

func without(items []string, sub string) []string {
	var out []string
	for _, it := range items {
		if !strings.Contains(it, sub) {
			out = append(out, it)
		}
	}
	return out
}

func equalDocs(a, b any) bool {
	ja, _ := json.Marshal(iamstate.CanonicalStatements(a))
	jb, _ := json.Marshal(iamstate.CanonicalStatements(b))
	return string(ja) == string(jb)
}
