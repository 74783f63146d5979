package locks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

// Lock is one stack lock.
type Lock struct {
	// Stack is the lock's stack, "organization/project/stack".
	Stack string `json:"stack"`
	// Key is the lock's path inside the backend.
	Key       string    `json:"key"`
	Pid       int       `json:"pid"`
	Username  string    `json:"username"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
}

// Holder names who holds the lock, for messages.
func (l Lock) Holder() string {
	return fmt.Sprintf("%s@%s (pid %d) since %s", l.Username, l.Hostname, l.Pid, l.Timestamp.UTC().Format(time.RFC3339))
}

// Stale says whether the lock's process is certainly gone: it ran on this host and no such
// process exists. A lock from another host is never called stale, since its process cannot be
// checked from here; minAge lets the caller accept old ones explicitly.
func (l Lock) Stale(minAge time.Duration) (bool, string) {
	host, _ := os.Hostname()
	if l.Hostname == host {
		if gone(l.Pid) {
			return true, "its process is gone from this host"
		}
		return false, "its process is still running on this host"
	}
	if minAge > 0 && time.Since(l.Timestamp) > minAge {
		return true, fmt.Sprintf("it is older than %s (held from another host)", minAge)
	}
	return false, "it is held from another host; pass --older-than to clear old locks from other hosts"
}

const lockPrefix = ".pulumi/locks/"

// Store is where the locks are; see backend.Open.
type Store = backend.Store

// List returns every lock in the backend, oldest first.
func List(ctx context.Context, st Store) ([]Lock, error) {
	keys, err := st.List(ctx, lockPrefix)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	var out []Lock
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		b, err := st.Read(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", k, err)
		}
		var l Lock
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("lock %s is not a Pulumi lock: %w", k, err)
		}
		l.Key = k
		l.Stack = path.Dir(strings.TrimPrefix(k, lockPrefix))
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out, nil
}

// OfStack returns the locks of one stack of a project, in either backend layout: the project
// layout keeps them under organization/PROJECT/STACK, the legacy one under STACK.
func OfStack(ctx context.Context, st Store, project, stack string) ([]Lock, error) {
	all, err := List(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Lock
	for _, l := range all {
		if l.Stack == stack || l.Stack == "organization/"+project+"/"+stack {
			out = append(out, l)
		}
	}
	return out, nil
}

// HeldByOneOf says whether the lock was taken by one of these processes of this host, all of
// which have ended: a pid that is running again belongs to some other process now (pids are
// reused), whose lock this is not.
func (l Lock) HeldByOneOf(host string, ended map[int]bool) bool {
	if l.Hostname != host || !ended[l.Pid] {
		return false
	}
	return gone(l.Pid)
}

// gone says whether no process pid runs on this host. A process that has exited but whose
// parent has not collected it (a zombie: the CLI of a rollout killed outright, orphaned to an
// init that reaps late) is gone too: it holds nothing and will never release its lock.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may hold any byte.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		state := stat[i+2]
		return state == 'Z' || state == 'X'
	}
	return false
}

// Remove deletes one lock.
func Remove(ctx context.Context, st Store, l Lock) error {
	if !strings.HasPrefix(l.Key, lockPrefix) {
		return fmt.Errorf("refusing to delete %s: not a lock", l.Key)
	}
	return st.Delete(ctx, l.Key)
}

// Open returns the store of a backend URL; Pulumi Cloud manages its own locks (`pulumi cancel`).
func Open(ctx context.Context, backendURL string, cfg aws.Config) (Store, error) {
	st, err := backend.Open(ctx, backendURL, cfg)
	if errors.Is(err, backend.ErrUnsupported) {
		return nil, fmt.Errorf("backend %s: locks there are managed by the backend itself (Pulumi Cloud: `pulumi cancel`); only file:// and s3:// backends are handled here", backendURL)
	}
	return st, err
}
