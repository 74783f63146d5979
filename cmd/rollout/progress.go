package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/byoc-access/byoc-access/rollout"
)

// progress shows a live bar on a terminal and plain log lines otherwise.
type progress struct {
	mu                                  sync.Mutex
	w                                   io.Writer
	tty                                 bool
	bar                                 *progressbar.ProgressBar
	running, succeeded, failed, skipped int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) event(e rollout.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case rollout.EventStarted:
		p.running++
	case rollout.EventFinished:
		// Accounts that fail their preflight or are skipped by fingerprint never started.
		if e.Result.Attempts > 0 {
			p.running--
		}
		switch e.Result.Status {
		case rollout.StatusSucceeded:
			p.succeeded++
		case rollout.StatusSkipped:
			p.skipped++
		default:
			p.failed++
		}
	}
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(e.Total, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
				progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
		}
		p.bar.Describe(fmt.Sprintf("running %d  succeeded %d  failed %d  skipped %d", p.running, p.succeeded, p.failed, p.skipped))
		if e.Type == rollout.EventFinished {
			_ = p.bar.Add(1)
		}
		return
	}
	line := fmt.Sprintf("%s %s %s", e.Time.UTC().Format(time.RFC3339), e.Account.ID, e.Type)
	if e.Result != nil {
		line += " " + string(e.Result.Status)
		if e.Result.UpToDate {
			line += " (unchanged, skipped by fingerprint)"
		}
		if e.Result.Error != "" {
			line += ": " + e.Result.Error
		}
	}
	if e.Message != "" {
		line += ": " + e.Message
	}
	done := p.succeeded + p.failed + p.skipped
	fmt.Fprintf(p.w, "%s [%d/%d]\n", line, done, e.Total)
}

// done clears the bar, so the summary table starts on a clean line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
