// Package diff says, in IAM terms, what changes between two IAM states of one account (or of
// two specs rendered for one placeholder account): roles and policies created or deleted, per
// policy the actions, resources and conditions a change grants or takes away, trust
// principals and conditions, attachments and boundaries. A reviewer reads this instead of
// Pulumi's diff of a policy's JSON string. Compare is the pure diff of two iamstate.Accounts
// (from iamstate/render, a stack's recorded inputs or iamstate/snapshot); Summarize groups
// many accounts' diffs into a fleet summary; WriteText and WriteMarkdown print both (the
// Markdown fits a pull-request comment). Where iamstate/verify names drift from a spec, this
// names the change from one state to the next, and marks the expansions lint would flag.
package diff
