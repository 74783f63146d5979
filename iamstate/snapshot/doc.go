// Package snapshot reads a vendor's live IAM roles and customer-managed policies from one AWS
// account into an iamstate.Account, the shape render prints, so the two compare field for field
// whatever created the access: byoc-access, the console, CloudFormation or Terraform. It looks at
// the account end of the chain spec → grant → component → stack → account. Take is the entry
// point; NamesOf takes the role and policy names to read from render's output for the same
// account. It is what `rollout snapshot` prints and the "got" side of iamstate/verify.
package snapshot
