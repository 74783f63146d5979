package rollout

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Operation is what a run does to each account.
type Operation string

// Operations.
const (
	OpPreview Operation = "plan"
	OpUp      Operation = "up"
	OpDestroy Operation = "destroy"
	OpStatus  Operation = "status"
	OpDrift   Operation = "drift"
)

// Status is an account's outcome in a run.
type Status string

// Outcomes.
const (
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusSkipped    Status = "skipped"
	StatusNotStarted Status = "not-started"
	StatusCancelled  Status = "cancelled"
)

// Result is one account's outcome.
type Result struct {
	Account  targets.Account `json:"account"`
	Stack    string          `json:"stack"`
	Status   Status          `json:"status"`
	Kind     Kind            `json:"kind,omitempty"`
	Error    string          `json:"error,omitempty"`
	Attempts int             `json:"attempts,omitempty"`
	Duration time.Duration   `json:"duration"`
	// Changes counts resources by operation (create, update, delete, same).
	Changes map[string]int `json:"changes,omitempty"`
	// RoleArns and ExternalID are read from the stack's outputs.
	RoleArns   map[string]string `json:"roleArns,omitempty"`
	ExternalID string            `json:"externalId,omitempty"`
	Outputs    map[string]any    `json:"outputs,omitempty"`
	// LastUpdate and LastResult come from the stack's history (status).
	LastUpdate string `json:"lastUpdate,omitempty"`
	LastResult string `json:"lastResult,omitempty"`
	LogFile    string `json:"logFile,omitempty"`
	// Drifted is set by drift when the refreshed stack differs from the program.
	Drifted bool `json:"drifted,omitempty"`
	// UpToDate is set when up skipped the account because its fingerprint was unchanged.
	UpToDate bool `json:"upToDate,omitempty"`
}

// Report is a run's outcome across accounts.
type Report struct {
	Operation   Operation     `json:"operation"`
	StartedAt   time.Time     `json:"startedAt"`
	Duration    time.Duration `json:"duration"`
	Backend     string        `json:"backend"`
	MaxFailures string        `json:"maxFailures"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Results     []Result      `json:"results"`
	Counts      Counts        `json:"counts"`
}

// Counts summarise a report.
type Counts struct {
	Total      int `json:"total"`
	Succeeded  int `json:"succeeded"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	NotStarted int `json:"notStarted"`
	Cancelled  int `json:"cancelled"`
	Changed    int `json:"changed"`
	Unchanged  int `json:"unchanged"`
	Drifted    int `json:"drifted"`
	// UpToDate counts accounts skipped because their fingerprint was unchanged.
	UpToDate int `json:"upToDate"`
}

// Failed reports whether any account failed, was cancelled or never started.
func (r *Report) Failed() bool {
	return r.Counts.Failed+r.Counts.Cancelled+r.Counts.NotStarted > 0
}

func (r *Report) count() {
	c := Counts{Total: len(r.Results)}
	for _, res := range r.Results {
		switch res.Status {
		case StatusSucceeded:
			c.Succeeded++
			if res.Drifted {
				c.Drifted++
			}
			if res.UpToDate {
				c.UpToDate++
			}
			if changed(res.Changes) {
				c.Changed++
			} else {
				c.Unchanged++
			}
		case StatusFailed:
			c.Failed++
		case StatusSkipped:
			c.Skipped++
		case StatusNotStarted:
			c.NotStarted++
		case StatusCancelled:
			c.Cancelled++
		}
	}
	r.Counts = c
	sort.Slice(r.Results, func(i, j int) bool { return r.Results[i].Account.ID < r.Results[j].Account.ID })
}

func changed(ch map[string]int) bool {
	for op, n := range ch {
		if op != "same" && n > 0 {
			return true
		}
	}
	return false
}

// ChangeText is a short form of a change count: "+3 ~1 -0".
func ChangeText(ch map[string]int) string {
	if ch == nil {
		return ""
	}
	return fmt.Sprintf("+%d ~%d -%d =%d", ch["create"], ch["update"]+ch["replace"], ch["delete"], ch["same"])
}

// WriteFiles writes report.json, report.csv and report.md into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{
		"report.json": r.WriteJSON,
		"report.csv":  r.WriteCSV,
		"report.md":   r.WriteMarkdown,
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// WriteJSON writes the whole report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var csvHeader = []string{"account_id", "name", "ou_path", "result", "kind", "duration_s", "changes", "role_arns", "external_id", "error"}

// WriteCSV writes one row per account.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, res := range r.Results {
		if err := cw.Write([]string{
			res.Account.ID, res.Account.Name, res.Account.OUPath, string(res.Status), string(res.Kind),
			fmt.Sprintf("%.1f", res.Duration.Seconds()), ChangeText(res.Changes), roleList(res.RoleArns, " "), res.ExternalID, res.Error,
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMarkdown writes a summary and a table, for tickets and change records.
func (r *Report) WriteMarkdown(w io.Writer) error {
	c := r.Counts
	fmt.Fprintf(w, "# byoc-access %s report\n\n", r.Operation)
	fmt.Fprintf(w, "Started %s, took %s. Backend: `%s`. Failure tolerance: %s.\n\n", r.StartedAt.UTC().Format(time.RFC3339), r.Duration.Round(time.Second), r.Backend, r.MaxFailures)
	fmt.Fprintf(w, "%d accounts: %d succeeded (%d changed, %d unchanged), %d failed, %d skipped, %d not started, %d cancelled.\n\n",
		c.Total, c.Succeeded, c.Changed, c.Unchanged, c.Failed, c.Skipped, c.NotStarted, c.Cancelled)
	fmt.Fprintln(w, "| Account | Name | OU | Result | Duration | Changes | Role ARNs | External ID | Error |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		errText := res.Error
		if res.Kind != "" {
			errText = string(res.Kind) + ": " + errText
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1fs | %s | %s | %s | %s |\n", res.Account.ID, md(res.Account.Name), md(res.Account.OUPath),
			res.Status, res.Duration.Seconds(), ChangeText(res.Changes), md(roleList(res.RoleArns, "<br>")), md(res.ExternalID), md(errText))
	}
	return nil
}

func md(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

func roleList(roles map[string]string, sep string) string {
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = roles[n]
	}
	return strings.Join(out, sep)
}
