// Command byoc-access is the Pulumi program behind `pulumi up`: it grants one vendor its access
// to the stack's AWS account from stack config. The rollout runs the same program.Run for
// every account of an organization.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/components/program"
)

func main() {
	pulumi.Run(program.Run)
}
