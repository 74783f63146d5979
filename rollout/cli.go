package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// childCLI runs the Pulumi CLI for the rollout's workspaces. It does what the Automation API's
// own command does (non-interactive, SIGINT on cancel, SIGKILL 10 s later), with two
// differences the rollout needs:
//
//   - the child's environment is the parent's without PULUMI_CONFIG_PASSPHRASE and
//     PULUMI_CONFIG_PASSPHRASE_FILE, plus the workspace's: the Automation API appends the
//     workspace's variables to os.Environ, so a passphrase exported to the rollout would reach
//     every child even though the rollout hands it over as a file;
//   - it remembers the pid of every child by the stack it worked on, so that after a timeout
//     or an interrupt the rollout can tell its own leftover stack lock from the live lock of
//     another run (the lock file names its holder's pid and host).
type childCLI struct {
	bin     string
	version semver.Version
	// inner runs the commands when the binary's path is unknown (a PulumiCommand the caller
	// built some other way); then the environment is whatever it builds.
	inner auto.PulumiCommand

	mu   sync.Mutex
	pids map[string]map[int]bool
	// signalled holds, by stack, the signal that ended a child the caller was not stopping
	// (its context still live): a CLI killed from outside. The Automation API's own errors
	// (`stack init`'s) do not carry the exit status, so the rollout asks here.
	signalled map[string]syscall.Signal
}

// newChildCLI wraps the caller's command. The path of the binary is read from the Automation
// API's own command type, which keeps it in an unexported field.
func newChildCLI(cmd auto.PulumiCommand) *childCLI {
	c := &childCLI{version: cmd.Version(), inner: cmd, pids: map[string]map[int]bool{}}
	if bin := commandPath(cmd); bin != "" {
		c.bin, c.inner = bin, nil
	}
	return c
}

func commandPath(cmd auto.PulumiCommand) string {
	v := reflect.ValueOf(cmd)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("command")
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

func (c *childCLI) Version() semver.Version { return c.version }

// Run runs one CLI command, as auto.PulumiCommand does.
func (c *childCLI) Run(ctx context.Context, workdir string, stdin io.Reader, additionalOutput, additionalErrorOutput []io.Writer,
	additionalEnv []string, args ...string,
) (string, string, int, error) {
	if c.inner != nil {
		return c.inner.Run(ctx, workdir, stdin, additionalOutput, additionalErrorOutput, additionalEnv, args...)
	}
	if !slices.Contains(pulumiArgs(args), "--non-interactive") {
		// A prompt would hang a headless run; every command fails instead.
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = workdir
	cmd.Env = childEnv(os.Environ(), additionalEnv, filepath.Dir(c.bin))
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	// As the Automation API does: SIGINT lets the CLI cancel its update and release its lock;
	// SIGKILL follows if it has not ended 10 s later.
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			_ = cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 10 * time.Second
	if attachedToSharedProvider(additionalEnv) {
		cmd.SysProcAttr = attachedCLIProcAttr()
	}
	if err := cmd.Start(); err != nil {
		return "", "", -2, err
	}
	if stack := stackArg(args); stack != "" {
		c.mu.Lock()
		if c.pids[stack] == nil {
			c.pids[stack] = map[int]bool{}
		}
		c.pids[stack][cmd.Process.Pid] = true
		c.mu.Unlock()
	}
	err := cmd.Wait()
	if sig, ok := signalOf(err); ok && ctx.Err() == nil {
		if stack := stackArg(args); stack != "" {
			c.mu.Lock()
			if c.signalled == nil {
				c.signalled = map[string]syscall.Signal{}
			}
			c.signalled[stack] = sig
			c.mu.Unlock()
		}
	}
	code := -2 // the Automation API's "unknown" code
	var exit *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.ExitCode()
	}
	return stdout.String(), stderr.String(), code, err
}

// ended returns the pids of the children that worked on a stack (they have all exited: Run
// returns only after its child is reaped) and forgets them.
func (c *childCLI) ended(stack string) map[int]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := c.pids[stack]
	delete(c.pids, stack)
	return pids
}

// killedChild returns the signal that ended one of a stack's children from outside since the
// last call, and forgets it.
func (c *childCLI) killedChild(stack string) (syscall.Signal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sig, ok := c.signalled[stack]
	delete(c.signalled, stack)
	return sig, ok
}

// pulumiArgs are the CLI's own arguments: those before a "--".
func pulumiArgs(args []string) []string {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[:i]
	}
	return args
}

// stackArg is the stack a command line works on: the value of --stack (or -s), or the name
// `stack init NAME` takes as an argument; "" when there is none.
func stackArg(args []string) string {
	args = pulumiArgs(args)
	var positional []string
	for i, a := range args {
		switch {
		case (a == "--stack" || a == "-s") && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(a, "--stack="):
			return strings.TrimPrefix(a, "--stack=")
		case !strings.HasPrefix(a, "-") && (i == 0 || !strings.HasPrefix(args[i-1], "--secrets-provider")):
			positional = append(positional, a)
		}
	}
	if len(positional) >= 3 && positional[0] == "stack" && positional[1] == "init" {
		return positional[2]
	}
	return ""
}

// childEnv is a child's environment: the parent's without the passphrase variables, then the
// workspace's, then the Automation API's marker, with the CLI's own folder first on PATH (so
// plugins it ships with are found first).
func childEnv(parent, extra []string, binDir string) []string {
	env := append(pulumicli.WithoutPassphrase(parent), extra...)
	env = append(env, "PULUMI_AUTOMATION_API=true")
	for i, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			if p != "" {
				p = string(os.PathListSeparator) + p
			}
			env[i] = "PATH=" + binDir + p
			return env
		}
	}
	return append(env, "PATH="+binDir)
}

// passphraseFile holds the secrets passphrase for the CLI children while runs are in
// progress: a file only the user can read (0600, in a 0700 folder of its own), created when
// the first run starts and removed when the last one ends, interrupted or not. Children get
// its path, never the passphrase itself.
type passphraseFile struct {
	phrase string

	mu   sync.Mutex
	refs int
	dir  string
}

// acquire returns the file's path and the function that releases it.
func (f *passphraseFile) acquire() (string, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refs == 0 {
		// The user's runtime folder is memory-backed and private where it exists.
		base := os.Getenv("XDG_RUNTIME_DIR")
		if st, err := os.Stat(base); base == "" || err != nil || !st.IsDir() {
			base = ""
		}
		dir, err := os.MkdirTemp(base, "byoc-access-")
		if err != nil {
			return "", nil, fmt.Errorf("passphrase file: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			_ = os.RemoveAll(dir)
			return "", nil, fmt.Errorf("passphrase file: %w", err)
		}
		if err := writePrivate(filepath.Join(dir, "passphrase"), f.phrase); err != nil {
			_ = os.RemoveAll(dir)
			return "", nil, fmt.Errorf("passphrase file: %w", err)
		}
		f.dir = dir
	}
	f.refs++
	path := filepath.Join(f.dir, "passphrase")
	var once sync.Once
	return path, func() { once.Do(f.release) }, nil
}

func (f *passphraseFile) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs--
	if f.refs == 0 {
		_ = os.RemoveAll(f.dir)
		f.dir = ""
	}
}

func writePrivate(path, content string) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.WriteString(content); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}

// attachedToSharedProvider says whether a command's environment attaches it to a provider the
// rollout started (runShared).
func attachedToSharedProvider(env []string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, "PULUMI_DEBUG_PROVIDERS=") {
			return true
		}
	}
	return false
}
