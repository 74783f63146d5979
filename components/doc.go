// Package components holds VendorAccess, the Pulumi component that turns one vendor's grant into
// IAM resources in one AWS account. In the chain spec → grant → component → stack → account it
// is the component: NewVendorAccess takes a vendor spec (vendors.Preset or vendors.LoadFile) and
// its parameters, resolves them into a vendors.Grant for the account, and creates the grant's
// managed policies, permissions boundary, roles, attachments and inline policies as children of
// one component, whose outputs (role ARNs, external ID, the handoff for the vendor) are what the
// vendor is sent. Bad inputs fail before any resource is registered. Construct is the same
// without registering outputs, for the multi-language provider. The stack's program
// (components/program) and render's mocks (iamstate/render) both run this one component, and
// other Pulumi Go programs may import it directly.
package components
