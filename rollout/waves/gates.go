package waves

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// DefaultCommandTimeout bounds a gate command when Gates.CommandTimeout is not set.
const DefaultCommandTimeout = 10 * time.Minute

// runCommand runs the wave's gate command with the IDs of the wave's accounts that succeeded
// as its last arguments (also in BYOC_WAVE_ACCOUNTS, comma-separated, with the wave's number
// and name in BYOC_WAVE and BYOC_WAVE_NAME). No shell runs it. Its output goes to
// wave-N-gate.log in the run directory; exit 0 passes. The secrets passphrase is kept out of
// its environment, as out of every child's.
func runCommand(ctx context.Context, g Gates, w Wave, accounts []string, runDir string) GateResult {
	r := GateResult{Gate: GateCommand}
	timeout := g.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, g.Command[0], append(slices.Clone(g.Command[1:]), accounts...)...)
	cmd.Env = append(pulumicli.WithoutPassphrase(os.Environ()), "BYOC_WAVE="+fmt.Sprint(w.Number), "BYOC_WAVE_NAME="+w.Name, "BYOC_WAVE_ACCOUNTS="+strings.Join(accounts, ","))
	var tail tailWriter
	var out io.Writer = &tail
	if runDir != "" {
		if f, err := os.OpenFile(filepath.Join(runDir, fmt.Sprintf("wave-%d-gate.log", w.Number)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			defer f.Close()
			out = io.MultiWriter(f, &tail)
		}
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A command that leaves a child holding its pipes must not hang the run past the timeout.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	what := fmt.Sprintf("%q", strings.Join(g.Command, " "))
	var ee *exec.ExitError
	switch {
	case cctx.Err() == context.DeadlineExceeded:
		r.Detail = fmt.Sprintf("%s did not finish within %s", what, timeout)
	case errors.As(err, &ee):
		r.Detail = fmt.Sprintf("%s exited with code %d%s", what, ee.ExitCode(), tail.lastLine())
	case err != nil:
		r.Detail = fmt.Sprintf("%s could not run: %v", what, err)
	default:
		r.Passed = true
		r.Detail = fmt.Sprintf("%s passed for %d accounts", what, len(accounts))
	}
	return r
}

// tailWriter keeps the end of a command's output, for the one line a gate's detail shows.
type tailWriter struct{ buf []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailWriter) lastLine() string {
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	if len(last) > 200 {
		last = last[:200] + "..."
	}
	return ": " + last
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
