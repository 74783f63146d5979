package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
)

// ReconcileLockKey is where the reconcile lock lives in the state backend, beside (not among)
// Pulumi's stack locks.
const ReconcileLockKey = ".byoc-access/locks/reconcile.json"

// Lock is a lock in the state backend that one process of many, on any machine, holds at a
// time: the workers' full reconcile takes it so that only one of them reconciles at once. It
// is taken with an exclusive create (backend.CreateExclusive). A holder that died leaves it
// behind; it is taken over when its holder is gone from this host, or when it is older than
// TTL, the rule `rollout unlock --older-than` applies to stack locks (locks.Lock.Stale).
//
// Two workers taking over the same dead holder's lock at the same moment may both reconcile;
// that costs time, not correctness, since each account's stack has its own Pulumi lock.
type Lock struct {
	// Store is the state backend.
	Store backend.Store
	// Key is the lock's key; ReconcileLockKey when empty.
	Key string
	// TTL is how old a lock held from another host must be to be taken over.
	TTL time.Duration
}

// Acquire takes the lock. held is false when another live process has it; holder then names it.
func (l *Lock) Acquire(ctx context.Context) (held bool, holder string, err error) {
	key := l.key()
	rec := l.record()
	b, err := json.Marshal(rec)
	if err != nil {
		return false, "", err
	}
	for range 2 {
		err := backend.CreateExclusive(ctx, l.Store, key, b)
		if err == nil {
			return true, "", nil
		}
		if !errors.Is(err, backend.ErrExists) {
			return false, "", fmt.Errorf("take the lock %s: %w", key, err)
		}
		other, err := l.read(ctx)
		if backend.IsNotFound(err) {
			continue // released meanwhile
		}
		if err != nil {
			// An unreadable lock (a half-written record from a crash) is taken over as a dead one.
			_ = l.Store.Delete(ctx, key)
			continue
		}
		stale, _ := other.Stale(l.TTL)
		if !stale {
			return false, other.Holder(), nil
		}
		if err := l.Store.Delete(ctx, key); err != nil && !backend.IsNotFound(err) {
			return false, other.Holder(), fmt.Errorf("take over the lock %s of %s: %w", key, other.Holder(), err)
		}
	}
	return false, "another process that took it over first", nil
}

// Release drops the lock if this process holds it.
func (l *Lock) Release(ctx context.Context) error {
	rec, err := l.read(ctx)
	if err != nil {
		if backend.IsNotFound(err) {
			return nil
		}
		return err
	}
	host, _ := os.Hostname()
	if rec.Pid != os.Getpid() || rec.Hostname != host {
		return nil // taken over after this process was presumed dead: not ours to drop
	}
	return l.Store.Delete(ctx, l.key())
}

func (l *Lock) key() string {
	if l.Key == "" {
		return ReconcileLockKey
	}
	return l.Key
}

// record is the holder, in the shape of a Pulumi stack lock so that the same staleness rule
// reads it.
func (l *Lock) record() locks.Lock {
	host, _ := os.Hostname()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return locks.Lock{Pid: os.Getpid(), Hostname: host, Username: name, Timestamp: time.Now().UTC()}
}

func (l *Lock) read(ctx context.Context) (locks.Lock, error) {
	var rec locks.Lock
	b, err := l.Store.Read(ctx, l.key())
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("lock %s: %w", l.key(), err)
	}
	return rec, nil
}

// TakeOverStaleStackLocks removes the Pulumi locks of one stack whose holder is certainly
// dead (its process is gone from this host) or, held from another host, older than olderThan
// (0: never), the rule of `rollout unlock`; it returns the locks it removed. A worker calls
// it when an account fails because its stack is locked: a worker killed mid-account leaves its
// lock, and the message comes back to another worker, which would otherwise fail on it until
// the dead-letter queue.
func TakeOverStaleStackLocks(ctx context.Context, st backend.Store, project, stack string, olderThan time.Duration) ([]locks.Lock, error) {
	held, err := locks.OfStack(ctx, st, project, stack)
	if err != nil {
		return nil, err
	}
	var removed []locks.Lock
	for _, l := range held {
		if stale, _ := l.Stale(olderThan); !stale {
			continue
		}
		if err := locks.Remove(ctx, st, l); err != nil && !backend.IsNotFound(err) {
			return removed, fmt.Errorf("remove the stale lock of %s held by %s: %w", stack, l.Holder(), err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}
