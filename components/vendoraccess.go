package components

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/vendors"
)

// VendorAccessType is the component's type token, fixed so that state and other languages
// can rely on it.
const VendorAccessType = "byoc-access:index:VendorAccess"

// VendorAccessArgs configures a VendorAccess.
type VendorAccessArgs struct {
	// Spec is the vendor spec, from vendors.Preset or vendors.LoadFile. Required.
	Spec *vendors.VendorSpec
	// Params are the vendor's parameters; values may be typed or strings to coerce.
	Params map[string]any
	// AccountID is the target account; when empty it is read from the provider's identity.
	AccountID string
	// Partition is the AWS partition; when empty it is read from the provider.
	Partition string
	// Region is the provider's region, used by templates that need it.
	Region string
	// Tags are applied to every role and policy, over the spec's own tags.
	Tags map[string]string
	// Adopt names existing IAM resources ("role/NAME" or "policy/NAME") to import into
	// management instead of failing with EntityAlreadyExists.
	Adopt map[string]bool
}

// VendorAccess is one vendor's access in one account.
type VendorAccess struct {
	pulumi.ResourceState

	// AccountID is the account the access is granted in.
	AccountID pulumi.StringOutput `pulumi:"accountId"`
	// RoleArns maps each role name to its ARN.
	RoleArns pulumi.StringMapOutput `pulumi:"roleArns"`
	// PolicyArns maps each managed policy name to its ARN.
	PolicyArns pulumi.StringMapOutput `pulumi:"policyArns"`
	// BoundaryArn is the permissions boundary's ARN, or "" when the vendor uses none.
	BoundaryArn pulumi.StringOutput `pulumi:"boundaryArn"`
	// ExternalID is the external ID the vendor must present, or "".
	ExternalID pulumi.StringOutput `pulumi:"externalId"`
	// Handoff is what the customer sends the vendor: account ID, role ARNs, external ID.
	Handoff pulumi.MapOutput `pulumi:"handoff"`

	// grant is unexported so that schema inference for other languages does not see it.
	grant *vendors.Grant
}

// Grant is the resolved access, for Go callers that want to inspect what was created.
func (va *VendorAccess) Grant() *vendors.Grant { return va.grant }

// placeholderAccount stands in for the real account while validating before registration,
// so that a bad input fails before any resource exists.
const placeholderAccount = "000000000000"

// NewVendorAccess validates the args, then creates the vendor's policies, roles and
// attachments as children of one component, and registers its outputs.
func NewVendorAccess(ctx *pulumi.Context, name string, args *VendorAccessArgs, opts ...pulumi.ResourceOption) (*VendorAccess, error) {
	va, err := Construct(ctx, name, args, opts...)
	if err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(va, va.outputs()); err != nil {
		return nil, err
	}
	return va, nil
}

// outputs is the component's output map, in one place for both ways of registering it.
func (va *VendorAccess) outputs() pulumi.Map {
	return pulumi.Map{
		"accountId":   va.AccountID,
		"roleArns":    va.RoleArns,
		"policyArns":  va.PolicyArns,
		"boundaryArn": va.BoundaryArn,
		"externalId":  va.ExternalID,
		"handoff":     va.Handoff,
	}
}

// Construct is NewVendorAccess without registering the outputs, for hosts that register them
// themselves from the output fields (the multi-language provider does), so that outputs are
// registered exactly once either way.
func Construct(ctx *pulumi.Context, name string, args *VendorAccessArgs, opts ...pulumi.ResourceOption) (*VendorAccess, error) {
	if args == nil || args.Spec == nil {
		return nil, fmt.Errorf("VendorAccess %s: a vendor spec is required (vendors.Preset or vendors.LoadFile)", name)
	}
	if args.AccountID != "" {
		if err := validate.AccountID(args.AccountID); err != nil {
			return nil, fmt.Errorf("VendorAccess %s: accountId: %w", name, err)
		}
	}
	if err := validate.Tags(args.Tags); err != nil {
		return nil, fmt.Errorf("VendorAccess %s: tags: %w", name, err)
	}
	// Validate everything that does not depend on the real account before registering.
	probe := vendors.Target{
		AccountID: firstNonEmpty(args.AccountID, placeholderAccount),
		Partition: firstNonEmpty(args.Partition, "aws"),
		Region:    args.Region,
		LookupKMSKeyARN: func(keyID string) (string, error) {
			return "arn:aws:kms:us-east-1:" + placeholderAccount + ":key/" + strings.ReplaceAll(keyID, "/", "-"), nil
		},
	}
	if _, err := args.Spec.Resolve(probe, args.Params); err != nil {
		return nil, fmt.Errorf("VendorAccess %s: %w", name, err)
	}

	va := &VendorAccess{}
	if err := ctx.RegisterComponentResource(VendorAccessType, name, va, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(va)

	target := vendors.Target{AccountID: args.AccountID, Partition: args.Partition, Region: args.Region}
	if target.AccountID == "" {
		id, err := aws.GetCallerIdentity(ctx, nil, parent)
		if err != nil {
			return nil, fmt.Errorf("VendorAccess %s: read the account ID from the AWS provider: %w", name, err)
		}
		target.AccountID = id.AccountId
	}
	if target.Partition == "" {
		p, err := aws.GetPartition(ctx, nil, parent)
		if err != nil {
			return nil, fmt.Errorf("VendorAccess %s: read the partition from the AWS provider: %w", name, err)
		}
		target.Partition = p.Partition
	}
	target.LookupKMSKeyARN = func(keyID string) (string, error) {
		k, err := kms.LookupKey(ctx, &kms.LookupKeyArgs{KeyId: keyID}, parent)
		if err != nil {
			return "", err
		}
		return k.Arn, nil
	}
	grant, err := args.Spec.Resolve(target, args.Params)
	if err != nil {
		return nil, fmt.Errorf("VendorAccess %s: account %s: %w", name, target.AccountID, err)
	}
	va.grant = grant

	tagsFor := func(base map[string]string) pulumi.StringMap {
		out := pulumi.StringMap{}
		for k, v := range base {
			out[k] = pulumi.String(v)
		}
		for k, v := range args.Tags {
			out[k] = pulumi.String(v)
		}
		return out
	}
	// Every resource here has a fixed IAM name, so a replacement (a new path, say) must delete
	// the old one before it creates the new one, or IAM answers EntityAlreadyExists. Logical
	// names come from IAM names, not spec IDs, so renaming an ID changes nothing in the
	// account; oldName is the name an earlier release gave the resource, aliased so stacks it
	// deployed keep their resources.
	resOpts := func(oldName, kind, physicalName string) []pulumi.ResourceOption {
		o := []pulumi.ResourceOption{parent, pulumi.DeleteBeforeReplace(true)}
		if oldName != "" {
			o = append(o, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(oldName)}}))
		}
		if kind != "" && args.Adopt[kind+"/"+physicalName] {
			// IAM import IDs: a policy by its ARN, a role by its name.
			id := physicalName
			if kind == "policy" {
				p, _ := grant.Policy(policyIDByName(grant, physicalName))
				id = p.ARN(grant.Partition, grant.AccountID)
			}
			o = append(o, pulumi.Import(pulumi.ID(id)))
		}
		return o
	}
	aliasIfRenamed := func(oldName, newName string) string {
		if oldName == newName {
			return ""
		}
		return oldName
	}

	policyArns := pulumi.StringMap{}
	policyByID := map[string]*iam.Policy{}
	for _, p := range grant.Policies {
		doc, err := json.Marshal(p.Document)
		if err != nil {
			return nil, fmt.Errorf("VendorAccess %s: policy %s: %w", name, p.Name, err)
		}
		logical := name + "-policy-" + p.Name
		res, err := iam.NewPolicy(ctx, logical, &iam.PolicyArgs{
			Name:        pulumi.String(p.Name),
			Path:        pulumi.String(p.Path),
			Description: optionalString(p.Description),
			Policy:      pulumi.String(string(doc)),
			Tags:        tagsFor(p.Tags),
		}, resOpts(aliasIfRenamed(name+"-policy-"+p.ID, logical), "policy", p.Name)...)
		if err != nil {
			return nil, err
		}
		policyByID[p.ID] = res
		policyArns[p.Name] = res.Arn
	}

	roleArns := pulumi.StringMap{}
	var boundary pulumi.StringInput = pulumi.String("")
	for _, r := range grant.Roles {
		trust, err := json.Marshal(r.TrustPolicy)
		if err != nil {
			return nil, fmt.Errorf("VendorAccess %s: role %s: %w", name, r.Name, err)
		}
		roleArgs := &iam.RoleArgs{
			Name:               pulumi.String(r.Name),
			Path:               pulumi.String(r.Path),
			Description:        optionalString(r.Description),
			AssumeRolePolicy:   pulumi.String(string(trust)),
			MaxSessionDuration: pulumi.Int(r.MaxSessionDuration),
			Tags:               tagsFor(r.Tags),
		}
		if r.Boundary != "" {
			var arn pulumi.StringOutput
			if r.BoundaryIsSpec {
				arn = policyByID[r.Boundary].Arn
			} else {
				arn = pulumi.String(r.Boundary).ToStringOutput()
			}
			roleArgs.PermissionsBoundary = arn
			boundary = arn
		}
		logical := name + "-role-" + r.Name
		role, err := iam.NewRole(ctx, logical, roleArgs, resOpts(aliasIfRenamed(name+"-role-"+r.ID, logical), "role", r.Name)...)
		if err != nil {
			return nil, err
		}
		roleArns[r.Name] = role.Arn
		for _, an := range attachmentNames(name+"-"+r.Name+"-attach-", name+"-"+r.ID+"-attach-", r.Attachments, grant) {
			var arn pulumi.StringInput = pulumi.String(an.att.ARN)
			if an.att.PolicyID != "" {
				arn = policyByID[an.att.PolicyID].Arn
			}
			if _, err := iam.NewRolePolicyAttachment(ctx, an.name, &iam.RolePolicyAttachmentArgs{
				Role:      role.Name,
				PolicyArn: arn,
			}, resOpts(an.alias, "", "")...); err != nil {
				return nil, err
			}
		}
		for _, n := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
			doc, err := json.Marshal(r.InlinePolicies[n])
			if err != nil {
				return nil, fmt.Errorf("VendorAccess %s: role %s: inline policy %s: %w", name, r.Name, n, err)
			}
			logical := name + "-" + r.Name + "-inline-" + n
			if _, err := iam.NewRolePolicy(ctx, logical, &iam.RolePolicyArgs{
				Role:   role.Name,
				Name:   pulumi.String(n),
				Policy: pulumi.String(string(doc)),
			}, resOpts(aliasIfRenamed(name+"-"+r.ID+"-inline-"+n, logical), "", "")...); err != nil {
				return nil, err
			}
		}
	}

	va.AccountID = pulumi.String(grant.AccountID).ToStringOutput()
	va.RoleArns = roleArns.ToStringMapOutput()
	va.PolicyArns = policyArns.ToStringMapOutput()
	va.BoundaryArn = boundary.ToStringOutput()
	va.ExternalID = pulumi.String(grant.ExternalID).ToStringOutput()
	va.Handoff = pulumi.Map{
		"vendor":       pulumi.String(grant.Vendor),
		"accountId":    pulumi.String(grant.AccountID),
		"roleArns":     roleArns,
		"externalId":   pulumi.String(grant.ExternalID),
		"instructions": pulumi.String(args.Spec.Handoff.Instructions),
	}.ToMapOutput()
	return va, nil
}

func policyIDByName(g *vendors.Grant, name string) string {
	for _, p := range g.Policies {
		if p.Name == name {
			return p.ID
		}
	}
	return ""
}

func optionalString(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
