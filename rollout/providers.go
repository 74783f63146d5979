package rollout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
)

// The CLI starts a fresh AWS provider for every account's operation and stops it afterwards.
// Starting one is a large part of an account's cost: the provider loads the AWS schema and
// its Terraform core before serving the first call, which takes longer than planning the
// account's 20 IAM resources (see the README's Performance section). So the rollout starts
// one provider per worker and lets each account's CLI attach to it, through the engine's
// PULUMI_DEBUG_PROVIDERS, one account at a time.
//
// Safety rests on three rules. A provider serves one CLI at a time, so an account's provider
// configuration (its assumed role, pinned account ID and region) is the only one it holds
// while that account's engine runs; every engine configures its provider before using it, as
// it does a fresh one. A provider whose account failed, timed out or was cancelled is stopped
// and the next account gets a new one, because a cancelled Terraform provider stays
// cancelled and a failure may have left it in any state. And the providers are the run's
// children: they are stopped when the run ends, and killed with it if it is killed.

// providerPool holds one provider slot per worker.
type providerPool struct {
	slots chan *providerHost
	all   []*providerHost
	// off is set once a provider failed an account that a provider of its own then served:
	// from then on every account's CLI starts its own provider, as without the pool.
	off atomic.Bool
	// proven is set once a shared provider has served an account: from then on, a failure on
	// a fresh one is the account's own.
	proven atomic.Bool
}

// newProviderPool returns a pool of n slots for the provider binary bin, started with env.
// Providers start on first use.
func newProviderPool(n int, bin string, env []string, logDir string) *providerPool {
	p := &providerPool{slots: make(chan *providerHost, n)}
	for i := range n {
		h := &providerHost{bin: bin, env: env, pool: p}
		if logDir != "" {
			h.logPath = filepath.Join(logDir, fmt.Sprintf("provider-%d.log", i+1))
		}
		p.all = append(p.all, h)
		p.slots <- h
	}
	return p
}

// take returns a free slot; the caller gives it back with give.
func (p *providerPool) take() *providerHost { return <-p.slots }

func (p *providerPool) give(h *providerHost) { p.slots <- h }

// close stops every provider of the pool.
func (p *providerPool) close() {
	for _, h := range p.all {
		h.stop()
	}
}

// providerHost is one worker's provider process, started on demand.
type providerHost struct {
	bin     string
	env     []string
	logPath string
	pool    *providerPool
	// served counts the operations the running provider completed.
	served int

	cmd    *exec.Cmd
	port   int
	exited chan struct{}
	log    *os.File
}

// attach returns the provider's port, starting the provider when none runs.
func (h *providerHost) attach(ctx context.Context) (int, error) {
	if h.cmd != nil {
		select {
		case <-h.exited:
			h.stop()
		default:
			return h.port, nil
		}
	}
	return h.start(ctx)
}

func (h *providerHost) start(ctx context.Context) (int, error) {
	cmd := exec.Command(h.bin)
	cmd.Env = h.env
	cmd.SysProcAttr = providerProcAttr()
	cmd.Stderr = io.Discard
	if h.logPath != "" {
		if f, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			h.log = f
			cmd.Stderr = f
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the AWS provider %s: %w", h.bin, err)
	}
	h.cmd, h.exited, h.served = cmd, make(chan struct{}), 0
	exited := h.exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	// A provider prints its port first; nothing else is read from its stdout.
	type line struct {
		text string
		err  error
	}
	got := make(chan line, 1)
	go func() {
		r := bufio.NewReader(out)
		text, err := r.ReadString('\n')
		got <- line{text, err}
		_, _ = io.Copy(io.Discard, r)
	}()
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	select {
	case l := <-got:
		port, err := strconv.Atoi(strings.TrimSpace(l.text))
		if err != nil || port <= 0 {
			h.stop()
			if l.err != nil {
				return 0, fmt.Errorf("the AWS provider %s exited before serving: %w", h.bin, l.err)
			}
			return 0, fmt.Errorf("the AWS provider %s printed %q where its port was expected", h.bin, strings.TrimSpace(l.text))
		}
		h.port = port
		return port, nil
	case <-timeout.C:
		h.stop()
		return 0, fmt.Errorf("the AWS provider %s did not start within 2 minutes", h.bin)
	case <-ctx.Done():
		h.stop()
		return 0, ctx.Err()
	}
}

// stop ends the provider: SIGINT first, as the engine stops its plugins, then SIGKILL for
// the whole group.
func (h *providerHost) stop() {
	if h.cmd == nil {
		return
	}
	pgid := h.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-h.exited:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-h.exited
	if h.log != nil {
		_ = h.log.Close()
		h.log = nil
	}
	h.cmd, h.port = nil, 0
}

// shared says whether the CLI should attach to this slot's provider.
func (h *providerHost) shared() bool { return h != nil && !h.pool.off.Load() }

// providerKey carries an account's provider slot to runEngine for the account's operations.
type providerKey struct{}

func withProvider(ctx context.Context, h *providerHost) context.Context {
	if h == nil {
		return ctx
	}
	return context.WithValue(ctx, providerKey{}, h)
}

func providerFrom(ctx context.Context) *providerHost {
	h, _ := ctx.Value(providerKey{}).(*providerHost)
	return h
}

// sharedProvider returns the AWS provider binary the CLI itself would run for the program:
// pulumi-resource-aws on PATH, else the plugin of the version the program's SDK asks for in
// the run's plugin folder. "" when there is none: the CLI then resolves the plugin itself, as
// without sharing.
func sharedProvider(env map[string]string) string {
	return pulumicli.AWSPluginPath(env["PULUMI_HOME"], pulumicli.AWSPluginVersion)
}

// sharable says whether the environment lets one provider serve several accounts: not while
// it holds a CA bundle that could not be handed over in a form a second configuration
// survives (cabundle.go).
func sharable(env []string) bool {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == caBundleEnv && v != "" {
			return false
		}
	}
	return true
}

// providerEnv is the environment of a shared provider: the one the CLI would hand a provider
// it started (the run's environment over the process's), without the secrets passphrase,
// which only the CLI needs, and with a CA bundle handed over as cabundle.go says.
func providerEnv(env map[string]string) []string {
	merged := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			merged[k] = v
		}
	}
	for k, v := range env {
		merged[k] = v
	}
	for _, k := range append(pulumicli.PassphraseEnv, "PULUMI_DEBUG_PROVIDERS") {
		delete(merged, k)
	}
	handOverCABundle(merged)
	out := make([]string, 0, len(merged))
	for k, v := range merged {
		out = append(out, k+"="+v)
	}
	return out
}
