// Package verify compares what a vendor spec says an account should grant (iamstate/render) with
// what the account grants (iamstate/snapshot), and names each difference as a Finding of a Kind: a
// missing role, a trust policy that trusts one more principal or lost its external ID condition,
// actions added to a policy, an attachment or boundary gone, tags changed. It closes the chain
// spec → grant → component → stack → account by checking the account against the spec, with no
// state needed, so it audits setups made by any tool. Compare is the entry point; `rollout
// verify` runs it for every account.
package verify
