// Package lint reviews what a vendor would be granted before it is deployed: it sits between
// the grant (vendors.Resolve) and the component in the chain spec → grant → component → stack →
// account. CheckSpec resolves a spec for a placeholder account and checks the result; Check
// checks any vendors.Grant, one built in code included. Each Finding has a severity (error,
// warning or info), a stable rule ID (Rules lists them) and a message that says the fix; they
// cover IAM policy grammar, services and actions that do not exist (against an embedded catalog
// of every AWS action), IAM quotas, and what security reviewers look for first: privilege
// escalation on "*", trust in anyone or a whole account, cross-account trust without an
// external ID. Resolve already refuses what IAM would reject outright; lint adds the softer
// findings, and `rollout plan` and `up` refuse to deploy when HasErrors. FormatText, FormatJSON
// and FormatSARIF write findings for people, scripts and code scanning.
package lint
