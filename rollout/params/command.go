package params

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Command is a --param-from-command: the parameter it yields and the program to run.
type Command struct {
	Param string
	// Argv is the program and its arguments; the account ID is appended as the last one.
	Argv []string
}

// String is the command as the user wrote it, for messages.
func (c Command) String() string { return strings.Join(c.Argv, " ") }

// DefaultCommandTimeout bounds one run of a --param-from-command.
const DefaultCommandTimeout = time.Minute

// maxOutput bounds what a command may print on stdout: a parameter value, not a data dump.
const maxOutput = 64 << 10

// Run runs the command for an account: the account ID is its last argument, BYOC_ACCOUNT_ID
// and BYOC_ACCOUNT_NAME are in its environment, its stderr goes to log, and its stdout,
// trimmed, is the value. No shell is involved, so an account name cannot inject anything.
func (c Command) Run(ctx context.Context, a targets.Account, log io.Writer, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append(append([]string{}, c.Argv[1:]...), a.ID)
	cmd := exec.CommandContext(ctx, c.Argv[0], args...)
	cmd.Env = append(os.Environ(), "BYOC_ACCOUNT_ID="+a.ID, "BYOC_ACCOUNT_NAME="+a.Name)
	var stdout limitedBuffer
	stdout.limit = maxOutput
	var stderr tailBuffer
	logged := &cappedWriter{w: log, limit: maxOutput}
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(logged, &stderr)
	// A command that leaves a child holding its pipes must not hang the run past the timeout.
	cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(log, "--- parameter %s: running %s %s\n", c.Param, c, a.ID)
	err := cmd.Run()
	if logged.dropped > 0 {
		fmt.Fprintf(log, "\n--- parameter %s: %d more bytes of stderr not shown\n", c.Param, logged.dropped)
	}
	what := fmt.Sprintf("parameter %q: command %q", c.Param, c.String()+" "+a.ID)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("%s did not finish within %s (raise --param-command-timeout)", what, timeout)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s failed with exit code %d%s", what, ee.ExitCode(), stderr.lastLine())
		}
		return "", fmt.Errorf("%s could not run: %w", what, err)
	case stdout.over:
		return "", fmt.Errorf("%s printed more than %d bytes: it must print only the value", what, maxOutput)
	}
	v := strings.TrimSpace(stdout.String())
	if v == "" {
		return "", fmt.Errorf("%s printed nothing on stdout: it must print the account's value%s", what, stderr.lastLine())
	}
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("%s printed bytes that are not UTF-8 text: it must print the value as UTF-8", what)
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%s printed several lines: it must print only the value (messages go to stderr)", what)
	}
	return v, nil
}

// limitedBuffer keeps the first limit bytes and notes that more came. It holds its buffer
// rather than embedding it: an embedded bytes.Buffer's ReadFrom would be what io.Copy (and so
// exec.Cmd) calls, reading everything past the limit.
type limitedBuffer struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room < len(p) {
		b.over = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string { return b.buf.String() }

// cappedWriter passes on the first limit bytes of a command's stderr and counts the rest: the
// log (render's stderr, or the account's log file) is for messages, not for a data dump.
type cappedWriter struct {
	w       io.Writer
	limit   int
	written int
	dropped int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	whole := len(p) // what the writer took, shown or not
	room := max(c.limit-c.written, 0)
	if len(p) > room {
		c.dropped += len(p) - room
		p = p[:room]
	}
	if len(p) > 0 {
		n, err := c.w.Write(p)
		c.written += n
		if err != nil {
			return n, err
		}
	}
	return whole, nil
}

// tailBuffer keeps the end of a command's stderr, for the one line an error shows.
type tailBuffer struct{ buf []byte }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > 4096 {
		b.buf = b.buf[len(b.buf)-4096:]
	}
	return len(p), nil
}

// lastLine is "; stderr: LINE" for the last non-empty line, at most 200 characters.
func (b *tailBuffer) lastLine() string {
	lines := strings.Split(strings.TrimSpace(string(b.buf)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	if len(last) > 200 {
		last = last[:200] + "..."
	}
	return "; stderr: " + last
}

// ParseCommand parses NAME=CMD: CMD is split into words as a shell would split them (quotes
// and backslashes), but no shell runs it.
func ParseCommand(flag string) (Command, error) {
	name, cmd, ok := strings.Cut(flag, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Command{}, fmt.Errorf("--param-from-command %q: want NAME=COMMAND, e.g. external_id='datadog-external-id --site eu'", flag)
	}
	argv, err := SplitWords(cmd)
	if err != nil {
		return Command{}, fmt.Errorf("--param-from-command %s: %w", name, err)
	}
	if len(argv) == 0 {
		return Command{}, fmt.Errorf("--param-from-command %s: the command is empty", name)
	}
	return Command{Param: name, Argv: argv}, nil
}

// SplitWords splits a command line into words: blanks separate words, single quotes keep
// everything literally, double quotes keep blanks, a backslash escapes the next character.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("the command ends with a lone backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("the command has an unclosed single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("the command has an unclosed double quote")
			}
			i = j
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
