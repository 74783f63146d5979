package targets

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one of N disjoint slices of the targets, so several CI runners can share one
// backend: every account lands in exactly one shard, decided by its ID alone.
type Shard struct {
	// Index is this shard, 1-based.
	Index int
	// Count is how many shards there are.
	Count int
}

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{Index: 1, Count: 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, &InputError{Field: "--shard", Value: s, Problem: fmt.Sprintf("--shard %q", s), Fix: "want i/n with 1 <= i <= n, e.g. 2/4"}
	}
	return Shard{Index: i, Count: n}, nil
}

// Has reports whether an account belongs to the shard.
func (s Shard) Has(accountID string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(accountID))
	return int(h.Sum32()%uint32(s.Count)) == s.Index-1
}

// Select keeps the accounts of the shard, in order.
func (s Shard) Select(accounts []Account) []Account {
	out := []Account{}
	for _, a := range accounts {
		if s.Has(a.ID) {
			out = append(out, a)
		}
	}
	return out
}
