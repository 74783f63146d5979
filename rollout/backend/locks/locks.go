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
	"strconv"
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
		if gone, why := gone(l.Pid, l.Timestamp); gone {
			return true, why
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
	gone, _ := gone(l.Pid, l.Timestamp)
	return gone
}

// gone says whether the process that took a lock at heldSince no longer runs on this host,
// and why. Three ways a pid that kill(2) still finds holds nothing:
//   - a zombie: a process that has exited but whose parent has not collected it (the CLI of a
//     rollout killed outright, orphaned to an init that reaps late);
//   - a process on its way out: killed, it has released its memory (so its command line reads
//     empty) but has not become a zombie yet, which on a loaded machine can take seconds;
//   - a process that started after the lock was taken: the pid was reused (pid_max is often
//     32768, and a busy machine goes round it in minutes).
func gone(pid int, heldSince time.Time) (bool, string) {
	const goneWhy = "its process is gone from this host"
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true, goneWhy
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, "" // not Linux, or unreadable: say nothing we cannot see
	}
	// The fields after the command name, which is in parentheses and may hold any byte:
	// field 3 (state) first, field 22 (start time in clock ticks since boot) 20th.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return false, ""
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X") {
		return true, goneWhy
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) == 0 {
		return true, "its process is exiting"
	}
	if !heldSince.IsZero() && len(fields) > 19 {
		if started, ok := processStart(fields[19]); ok && started.After(heldSince.Add(pidReuseSlack)) {
			return true, fmt.Sprintf("its pid %d now belongs to a process started at %s, after the lock was taken", pid, started.UTC().Format(time.RFC3339))
		}
	}
	return false, ""
}

// pidReuseSlack covers the boot time's whole seconds and clocks that disagree a little: a
// process started within it of the lock's time is taken for the holder.
const pidReuseSlack = 2 * time.Second

// clockTicks is USER_HZ, what /proc counts start times in: 100 on every Linux ABI Go supports.
const clockTicks = 100

// processStart turns a start time in clock ticks since boot into a time.
func processStart(ticks string) (time.Time, bool) {
	n, err := strconv.ParseUint(ticks, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			boot, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(boot, 0).Add(time.Duration(n) * time.Second / clockTicks), true
		}
	}
	return time.Time{}, false
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
