package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
)

// FormatText writes one line per finding ("severity RULE where: message") and a count line.
func FormatText(w io.Writer, fs []Finding) error {
	for _, f := range fs {
		where := f.Where()
		if where != "" {
			where += ": "
		}
		if _, err := fmt.Fprintf(w, "%-7s %s %s%s\n", f.Severity, f.Rule, where, f.Message); err != nil {
			return err
		}
	}
	n := Count(fs)
	_, err := fmt.Fprintf(w, "%d errors, %d warnings, %d info\n", n[Error], n[Warning], n[Info])
	return err
}

// FormatJSON writes the findings as an indented JSON array ([] when there are none).
func FormatJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// SARIF 2.1.0 structures, only the parts FormatSARIF writes.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
		Properties     *sarifProps `json:"properties,omitempty"`
	}
	sarifProps struct {
		Catalog string `json:"catalog,omitempty"`
	}
	sarifRule struct {
		ID                   string       `json:"id"`
		Name                 string       `json:"name"`
		ShortDescription     sarifMessage `json:"shortDescription"`
		DefaultConfiguration struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifArtifactLocation struct {
		URI string `json:"uri"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// FormatSARIF writes the findings as a SARIF 2.1.0 log, which code scanning tools display:
// one run of the byoc-access-lint driver with every rule, and one result per finding located
// in specFile (the artifact URI; omitted when empty) and at the role or policy it names.
func FormatSARIF(w io.Writer, fs []Finding, specFile string) error {
	driver := sarifDriver{
		Name:           "byoc-access-lint",
		Version:        toolVersion(),
		InformationURI: "https://github.com/byoc-access/byoc-access",
		Rules:          make([]sarifRule, len(Rules)),
		Properties:     &sarifProps{Catalog: DefaultCatalog().Source},
	}
	index := map[string]int{}
	for i, r := range Rules {
		sr := sarifRule{ID: r.ID, Name: r.Name, ShortDescription: sarifMessage{r.Description}}
		sr.DefaultConfiguration.Level = sarifLevel(r.Severities[0])
		driver.Rules[i] = sr
		index[r.ID] = i
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range fs {
		var loc sarifLocation
		if specFile != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifactLocation{URI: specFile}}
		}
		switch {
		case f.Role != "" && f.Policy != "":
			loc.LogicalLocations = []sarifLogical{{Name: f.Policy, FullyQualifiedName: "role/" + f.Role + "/inline-policy/" + f.Policy, Kind: "resource"}}
		case f.Policy != "":
			loc.LogicalLocations = []sarifLogical{{Name: f.Policy, FullyQualifiedName: "policy/" + f.Policy, Kind: "resource"}}
		case f.Role != "":
			loc.LogicalLocations = []sarifLogical{{Name: f.Role, FullyQualifiedName: "role/" + f.Role, Kind: "resource"}}
		}
		if f.Statement != "" && len(loc.LogicalLocations) == 1 {
			l := &loc.LogicalLocations[0]
			l.FullyQualifiedName += "/statement/" + f.Statement
		}
		text := f.Message
		if where := f.Where(); where != "" {
			text = where + ": " + text
		}
		ruleIndex, ok := index[f.Rule]
		if !ok {
			ruleIndex = -1
		}
		locs := []sarifLocation{}
		if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
			locs = append(locs, loc)
		}
		run.Results = append(run.Results, sarifResult{RuleID: f.Rule, RuleIndex: ruleIndex, Level: sarifLevel(f.Severity), Message: sarifMessage{text}, Locations: locs})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// toolVersion is the byoc-access module version this binary was built from, or "dev".
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
