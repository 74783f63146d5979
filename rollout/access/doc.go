// Package access gets the rollout into each target account, between choosing the accounts
// (package targets) and running one stack per account (package rollout) in the chain spec →
// grant → component → stack → account. An ExecutionRole names the role to assume there (by name
// or ARN template) and is checked with Validate; Credentials gives an SDK config that assumes it
// through STS; Preflight (Check for one account) proves access to every account before anything
// is deployed, and its failures are *AssumeRoleError with a Reason. NewAWSConfig is the SDK
// configuration the project uses everywhere, with its retryer for throttling.
package access
