package lint

import (
	"encoding/json"
	"fmt"
	"io"
)

// FormatText writes one line per finding and a count.
func FormatText(w io.Writer, fs []Finding) error {
	counts := map[Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
		where := f.where()
		if where != "" {
			where += ": "
		}
		if _, err := fmt.Fprintf(w, "%-7s %s %s%s\n", f.Severity, f.Rule, where, f.Message); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d errors, %d warnings, %d info\n", counts[Error], counts[Warning], counts[Info])
	return err
}

// FormatJSON writes the findings as a JSON array.
func FormatJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// FormatSARIF writes SARIF 2.1.0, which code scanning tools (GitHub among them) display.
func FormatSARIF(w io.Writer, fs []Finding, specFile string) error {
	type msg struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string `json:"id"`
		Name             string `json:"name"`
		ShortDescription msg    `json:"shortDescription"`
	}
	type logical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
		} `json:"physicalLocation"`
		LogicalLocations []logical `json:"logicalLocations,omitempty"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   msg        `json:"message"`
		Locations []location `json:"locations"`
	}
	rules := make([]rule, len(Rules))
	for i, r := range Rules {
		rules[i] = rule{ID: r.ID, Name: r.Name, ShortDescription: msg{r.Description}}
	}
	results := []result{}
	for _, f := range fs {
		level := map[Severity]string{Error: "error", Warning: "warning", Info: "note"}[f.Severity]
		var loc location
		loc.PhysicalLocation.ArtifactLocation.URI = specFile
		switch {
		case f.Policy != "":
			loc.LogicalLocations = []logical{{Name: f.Policy, FullyQualifiedName: "policy/" + f.Policy, Kind: "resource"}}
		case f.Role != "":
			loc.LogicalLocations = []logical{{Name: f.Role, FullyQualifiedName: "role/" + f.Role, Kind: "resource"}}
		}
		text := f.Message
		if where := f.where(); where != "" {
			text = where + ": " + text
		}
		results = append(results, result{RuleID: f.Rule, Level: level, Message: msg{text}, Locations: []location{loc}})
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "byoc-access-lint",
				"informationUri": "https://github.com/byoc-access/byoc-access",
				"rules":          rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
