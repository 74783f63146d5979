// Package iamstate is the JSON shape of a vendor's IAM footprint in one account (Account, with
// its Roles and Policies), the common language of the packages below it: iamstate/render
// computes it from a vendor spec (what the component would create), iamstate/snapshot reads it
// from a live account, iamstate/verify compares the two, and iamstate/diff says what changes
// from one state to another in IAM terms (for a plan's review). It sits at the end of the chain
// spec → grant → component → stack → account, describing what the account holds. Statements and
// CanonicalStatements read policy documents so that documents IAM treats as equal compare equal.
package iamstate
