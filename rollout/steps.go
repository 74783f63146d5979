package rollout

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Step is one resource step of an engine operation: what the engine does to the resource, and
// its inputs as state recorded them (Old) and as the program gives them (New). A plan reads
// what an account grants today from Old: the inputs of the last update that succeeded, which
// a re-render of an old spec could only guess.
type Step struct {
	// Op is the engine's operation: create, update, delete, replace, same, ...
	Op string `json:"op"`
	// URN names the resource.
	URN string `json:"urn"`
	// Type is the resource's type token, e.g. aws:iam/role:Role.
	Type string `json:"type"`
	// Old and New are the inputs before and after; nil where the resource does not exist on
	// that side. Secret values read "[secret]".
	Old map[string]any `json:"-"`
	New map[string]any `json:"-"`
}

// stepOf keeps the steps of the program's own resources: not the stack, nor providers.
func stepOf(m apitype.StepEventMetadata) (Step, bool) {
	if m.Type == "pulumi:pulumi:Stack" || strings.HasPrefix(m.Type, "pulumi:providers:") {
		return Step{}, false
	}
	s := Step{Op: string(m.Op), URN: m.URN, Type: m.Type}
	if m.Old != nil {
		s.Old = m.Old.Inputs
	}
	if m.New != nil {
		s.New = m.New.Inputs
	}
	return s, true
}
