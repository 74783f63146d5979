// Command pulumi-resource-byoc-access publishes the VendorAccess component to every Pulumi
// language: TypeScript, Python, YAML, .NET and Java users run `pulumi package add` on this
// folder and get a typed SDK. It calls the same constructor Go users call.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/vendors"
)

// Name is the Pulumi package name; with the module "index" it makes the token
// byoc-access:index:VendorAccess, the same one the Go component registers.
const Name = "byoc-access"

// Version is the provider's version; release builds set it with -ldflags.
var Version = "0.1.0"

func main() {
	prov, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := p.RunProvider(context.Background(), Name, Version, prov); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// New builds the provider.
func New() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("byoc-access").
		WithDescription("Grants a BYOC vendor (StreamNative, Streamkap, Datadog, Databricks, or any vendor spec) its IAM access to an AWS account.").
		WithKeywords("aws", "iam", "byoc", "vendor-access", "category/cloud", "kind/component").
		WithRepository("https://github.com/byoc-access/byoc-access").
		WithPublisher("byoc-access").
		WithLicense("Apache-2.0").
		WithNamespace("byoc-access").
		WithComponents(infer.Component(&VendorAccess{})).
		Build()
}

// VendorAccess is the component as other languages see it.
type VendorAccess struct{}

// Annotate fixes the type token and describes the component.
func (v *VendorAccess) Annotate(a infer.Annotator) {
	a.SetToken("index", "VendorAccess")
	a.Describe(&v, "The IAM policies, permission boundary and roles that grant one BYOC vendor its access to one AWS account, as its vendor spec says.")
}

// VendorAccessArgs are the component's inputs.
type VendorAccessArgs struct {
	Vendor    *string           `pulumi:"vendor,optional"`
	Spec      *string           `pulumi:"spec,optional"`
	Params    map[string]string `pulumi:"params,optional"`
	AccountID *string           `pulumi:"accountId,optional"`
	Tags      map[string]string `pulumi:"tags,optional"`
}

// Annotate describes each input for the generated SDKs.
func (a *VendorAccessArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Vendor, "An embedded vendor preset: "+strings.Join(vendors.PresetNames(), ", ")+". Set this or spec.")
	an.Describe(&a.Spec, "A vendor spec as YAML text (see vendor-spec.schema.json), for vendors without a preset. Set this or vendor.")
	an.Describe(&a.Params, "The vendor's parameters as strings; lists as JSON arrays or comma-separated, e.g. {external_id: \"o-abcde\"}.")
	an.Describe(&a.AccountID, "The target account ID; when empty it is read from the AWS provider's credentials.")
	an.Describe(&a.Tags, "Extra tags applied to every role and policy.")
}

// Construct builds the component through components.Construct, the same code Go users run;
// infer registers the outputs from the result's fields, so the constructor must not.
func (*VendorAccess) Construct(ctx *pulumi.Context, name, typ string, args VendorAccessArgs, opts pulumi.ResourceOption) (*components.VendorAccess, error) {
	spec, err := selectSpec(args)
	if err != nil {
		return nil, err
	}
	params := make(map[string]any, len(args.Params))
	for k, v := range args.Params {
		params[k] = v
	}
	return components.Construct(ctx, name, &components.VendorAccessArgs{
		Spec:      spec,
		Params:    params,
		AccountID: deref(args.AccountID),
		Tags:      args.Tags,
	}, opts)
}

func selectSpec(args VendorAccessArgs) (*vendors.VendorSpec, error) {
	vendor, spec := deref(args.Vendor), deref(args.Spec)
	switch {
	case vendor != "" && spec != "":
		return nil, fmt.Errorf("vendor and spec are both set: choose one")
	case spec != "":
		return vendors.Load("spec", []byte(spec))
	default:
		return vendors.Select(vendor, "")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
