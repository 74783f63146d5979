// Package locks finds the stack locks a DIY state backend (file:// or s3://, see rollout/backend)
// holds, and removes stale ones on request: the housekeeping of the stack step of the chain spec →
// grant → component → stack → account. The Pulumi CLI releases its lock when an update ends or is
// interrupted; only a process killed outright (SIGKILL, a lost CI runner) leaves one behind, and
// then every later update of that stack fails until it is cleared. Open, then List (or OfStack)
// to see each Lock with its holder, and Remove; `rollout unlock` is built on them.
package locks
