// Command vendor-access is a Pulumi program in a Go module of its own that grants Datadog its
// AWS integration role through the VendorAccess component, as README.md's "Using the component
// from Go" shows (the README's code block is this file's body, checked by examples_test.go).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/vendors"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		spec, err := vendors.Preset("datadog")
		if err != nil {
			return err
		}
		va, err := components.NewVendorAccess(ctx, "datadog", &components.VendorAccessArgs{
			Spec:   spec,
			Params: map[string]any{"external_id": "0123456789abcdef0123456789abcdef"},
		})
		if err != nil {
			return err
		}
		ctx.Export("roleArns", va.RoleArns)
		ctx.Export("handoff", va.Handoff)
		return nil
	})
}
