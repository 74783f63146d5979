// Package program is the Pulumi program of one stack: it reads the stack's configuration (which
// vendor, its parameters, the account, tags, resources to adopt) and deploys one VendorAccess
// component (package components) into the stack's AWS account. In the chain spec → grant →
// component → stack → account it is the stack: Run is the entry point, ReadConfig and Deploy its
// two halves. `pulumi up` runs Run through main.go, and the rollout (package rollout) runs the
// very same function inline through the Automation API for one stack per account, so a single
// account and a whole organization take one code path.
package program
