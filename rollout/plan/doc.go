// Package plan is an approved plan of a fleet change: what `rollout plan --out DIR` writes for
// review and `rollout up --plan DIR` applies exactly. Per account (Account) it keeps the
// fingerprint of spec, parameters, program and provider config, the operations the engine
// planned, digests of the IAM state the stack's state records and of the live IAM, the IAM-level
// diff (package iamstate/diff) and the IAM state the account should have afterwards; the
// summary (Plan) has the fleet's diff and a digest over every account file, so an edited plan
// is refused. Check says why an account is refused (what changed since the plan); CheckAge
// refuses a plan older than the limit. Package rollout runs the previews and updates; this
// package only builds, stores and compares plans.
package plan
