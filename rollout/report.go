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
	// Account is the target, as discovered or read from the accounts file.
	Account targets.Account `json:"account"`
	// Stack is the account's stack name (StackName).
	Stack string `json:"stack"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Kind says why the account failed; the Is* predicates name the kinds.
	Kind Kind `json:"kind,omitempty"`
	// Error is the one-line reason for a failure, skip or not-started; never a stack trace
	// and never a secret. The full engine output is in LogFile.
	Error string `json:"error,omitempty"`
	// Attempts counts tries, retries included; 0 for an account never started.
	Attempts int `json:"attempts,omitempty"`
	// Duration is the account's wall time, retries and backoff included (nanoseconds in JSON).
	Duration time.Duration `json:"duration"`
	// Changes counts resources by operation (create, update, delete, same).
	Changes map[string]int `json:"changes,omitempty"`
	// RoleArns maps the vendor's role names to ARNs, from the stack's outputs.
	RoleArns map[string]string `json:"roleArns,omitempty"`
	// ExternalID is the external ID the vendor presents, from the stack's outputs.
	ExternalID string `json:"externalId,omitempty"`
	// Outputs are all the stack's outputs, with secret ones shown as "[secret]".
	Outputs map[string]any `json:"outputs,omitempty"`
	// LastUpdate is when the stack was last updated, from its history (status).
	LastUpdate string `json:"lastUpdate,omitempty"`
	// LastResult is that update's result: succeeded, failed or in-progress (status).
	LastResult string `json:"lastResult,omitempty"`
	// LogFile holds the account's engine output for this run.
	LogFile string `json:"logFile,omitempty"`
	// Drifted is set by drift when the refreshed stack differs from the program.
	Drifted bool `json:"drifted,omitempty"`
	// UpToDate is set when up skipped the account because its fingerprint was unchanged.
	UpToDate bool `json:"upToDate,omitempty"`
	// Fingerprint digests what the account's update depends on (program and spec version,
	// stack config, provider config included), for plan and up.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Steps are the resource steps a plan's preview found, with the inputs state recorded and
	// the program gave; kept out of the report files, which must not grow with policies.
	Steps []Step `json:"-"`
}

// Report is a run's outcome across accounts.
type Report struct {
	// Operation is what the run did.
	Operation Operation `json:"operation"`
	// StartedAt is when the run began.
	StartedAt time.Time `json:"startedAt"`
	// Duration is the run's wall time (nanoseconds in JSON).
	Duration time.Duration `json:"duration"`
	// Backend is the state backend URL, which carries no secret.
	Backend string `json:"backend"`
	// MaxFailures is the failure tolerance as given ("3", "10%", "unlimited").
	MaxFailures string `json:"maxFailures"`
	// Interrupted says the run was cancelled (Ctrl-C) before every account was done.
	Interrupted bool `json:"interrupted,omitempty"`
	// Results has one entry per target account, sorted by account ID.
	Results []Result `json:"results"`
	// Counts summarise Results.
	Counts Counts `json:"counts"`
}

// Counts summarise a report.
type Counts struct {
	// Total is the number of target accounts.
	Total int `json:"total"`
	// Succeeded, Failed, Skipped, NotStarted and Cancelled count accounts by Status.
	Succeeded  int `json:"succeeded"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	NotStarted int `json:"notStarted"`
	Cancelled  int `json:"cancelled"`
	// Changed counts succeeded accounts with a create, update, replace or delete; Unchanged
	// the others.
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Drifted counts accounts whose refreshed stack differs from the program (drift).
	Drifted int `json:"drifted"`
	// UpToDate counts accounts skipped because their fingerprint was unchanged.
	UpToDate int `json:"upToDate"`
	// Changes totals the resource changes of the accounts that succeeded, by operation
	// (create, update, delete, replace, same): a plan's bottom line.
	Changes map[string]int `json:"changes,omitempty"`
}

// Failed reports whether any account failed, was cancelled or never started.
func (r *Report) Failed() bool {
	return r.Counts.Failed+r.Counts.Cancelled+r.Counts.NotStarted > 0
}

// Merge adds the results of accounts handled outside the run (refused by an approved plan,
// say) and counts again.
func (r *Report) Merge(results ...Result) {
	r.Results = append(r.Results, results...)
	r.count()
}

func (r *Report) count() {
	c := Counts{Total: len(r.Results)}
	for _, res := range r.Results {
		switch res.Status {
		case StatusSucceeded:
			c.Succeeded++
			for op, n := range res.Changes {
				if c.Changes == nil {
					c.Changes = map[string]int{}
				}
				c.Changes[op] += n
			}
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

// TotalsText spells a change count out, for summaries: "20 to create, 0 to update, 0 to
// replace, 0 to delete, 4 unchanged".
func TotalsText(ch map[string]int) string {
	return fmt.Sprintf("%d to create, %d to update, %d to replace, %d to delete, %d unchanged",
		ch["create"], ch["update"], ch["replace"], ch["delete"], ch["same"])
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
	if c.Changes != nil {
		fmt.Fprintf(w, "Resources: %s.\n\n", TotalsText(c.Changes))
	}
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
