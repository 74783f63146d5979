// Package vendors says what a vendor asks for, the first two links of the chain spec → grant →
// component → stack → account. A vendor spec (VendorSpec: a YAML file checked against the JSON
// Schema vendor-spec.schema.json) declares a vendor's parameters, managed policies, permissions
// boundary and roles with their trust policies, as templates over the parameters; LoadFile and
// Load read one from a file, Preset and Select give one of the presets embedded from the presets
// folder. Resolve fills a spec in for one account and one set of parameter values (checked by
// ResolveParams) and returns a Grant: the exact policies and roles to create, held to IAM's
// rules so that nothing invalid reaches a deployment. The VendorAccess component (package
// components) creates a grant's resources in one Pulumi stack per account, and the rollout
// drives those stacks across an organization. Beside this package, vendors/lint reviews a grant
// before it is deployed and vendors/cfnimport makes a spec from a CloudFormation template.
package vendors
