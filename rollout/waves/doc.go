// Package waves rolls a change out over a fleet in ordered waves with gates between them, and
// rolls accounts back to what they had before. A Plan splits the run's accounts into waves
// (a count, a share, an OU, a tag, a list of accounts, or the rest; from --wave flags or a
// waves file); Run deploys one wave at a time through the rollout package and, after each,
// runs its gates: the wave's own failure limit, verify of its accounts, a bake time, and an
// optional command given its account IDs. A failed gate halts the run, naming the wave and the
// gate, and can roll the wave back. Rollback returns accounts to what they had before a run,
// from the records the rollout keeps of what each successful update applied (rollout.Previous),
// offboarding an account that had nothing.
package waves
