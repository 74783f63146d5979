// Package targets decides which AWS accounts a rollout acts on: the account end of the chain
// spec → grant → component → stack → account, chosen before any stack exists. Discover reads the
// member accounts of an AWS Organization (Organizations) and narrows them with a Filter (OUs,
// accounts, tags, exclusions); LoadAccountsFile reads accounts from a CSV or YAML file for users
// without Organizations access, and ApplyFilter narrows those. Both give a Result: the Targets
// and the Skipped accounts with the reason. Shard splits the targets between CI runners. Every
// mistake in what the user gave is an *InputError naming the flag or file field and the fix.
package targets
