package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/rollout"
)

// finish prints the report and turns failures into exit code 1.
func finish(c *cobra.Command, f *fleetFlags, rep *rollout.Report, runDir string) error {
	f.progress.done()
	out := c.OutOrStdout()
	if f.Output == "json" {
		if err := rep.WriteJSON(out); err != nil {
			return err
		}
	} else {
		printTable(out, rep)
		fmt.Fprintf(c.ErrOrStderr(), "reports and logs: %s\n", runDir)
	}
	return outcome(rep)
}

// outcome turns a report into the command's result: exit 1 for failures, drift or interrupts.
func outcome(rep *rollout.Report) error {
	if rep.Interrupted {
		return failedError{msg: "interrupted: the summary above covers what ran; run again to finish"}
	}
	if rep.Operation == rollout.OpDrift && rep.Counts.Drifted > 0 {
		return failedError{msg: fmt.Sprintf("drift in %d of %d accounts", rep.Counts.Drifted, rep.Counts.Total)}
	}
	if rep.Failed() {
		return failedError{msg: fmt.Sprintf("%d of %d accounts failed", rep.Counts.Failed+rep.Counts.Cancelled+rep.Counts.NotStarted, rep.Counts.Total)}
	}
	return nil
}

func printTable(w io.Writer, rep *rollout.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tRESULT\tDURATION\tCHANGES\tERROR")
	for _, r := range rep.Results {
		errText := r.Error
		if r.Kind != "" {
			errText = string(r.Kind) + ": " + errText
		}
		status := string(r.Status)
		if r.Drifted {
			status = "drifted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Account.ID, r.Account.Name, r.Account.OUPath, status,
			r.Duration.Round(100*time.Millisecond), rollout.ChangeText(r.Changes), errText)
	}
	_ = tw.Flush()
	c := rep.Counts
	fmt.Fprintf(w, "\n%s: %d accounts, %d succeeded (%d changed, %d unchanged of which %d skipped by fingerprint), %d failed, %d skipped, %d not started, %d cancelled in %s\n",
		rep.Operation, c.Total, c.Succeeded, c.Changed, c.Unchanged, c.UpToDate, c.Failed, c.Skipped, c.NotStarted, c.Cancelled, rep.Duration.Round(time.Second))
	if c.Changes != nil {
		fmt.Fprintf(w, "resources: %s\n", rollout.TotalsText(c.Changes))
	}
}

// writeJSON writes v as indented JSON, the form of every --output json (and --as json) report.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
