// Package render computes the IAM state a vendor spec creates in an account, without touching
// AWS: Render runs the real VendorAccess component (package components) under Pulumi mocks
// (Mocks, which answer as IAM would) and reads the resources it registered back into an
// iamstate.Account with FromResources. It follows the chain spec → grant → component to its end
// without a stack or an account, so there is no second implementation of the spec here. It is
// what `rollout render` prints for security teams to review before access is granted, and the
// "want" side of iamstate/verify.
package render
