// Package components holds the VendorAccess Pulumi component: the IAM policies, permission
// boundary and roles that grant one BYOC vendor its access to one AWS account, as its vendor
// spec says. Other Pulumi Go programs import it directly.
package components

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
		if err := validateAccountID(args.AccountID); err != nil {
			return nil, fmt.Errorf("VendorAccess %s: accountId: %w", name, err)
		}
	}
	if err := validateTags(args.Tags); err != nil {
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
	adopt := func(kind, physicalName string) []pulumi.ResourceOption {
		o := []pulumi.ResourceOption{parent}
		if args.Adopt[kind+"/"+physicalName] {
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

	policyArns := pulumi.StringMap{}
	policyByID := map[string]*iam.Policy{}
	for _, p := range grant.Policies {
		doc, err := json.Marshal(p.Document)
		if err != nil {
			return nil, fmt.Errorf("VendorAccess %s: policy %s: %w", name, p.Name, err)
		}
		res, err := iam.NewPolicy(ctx, name+"-policy-"+p.ID, &iam.PolicyArgs{
			Name:        pulumi.String(p.Name),
			Path:        pulumi.String(p.Path),
			Description: optionalString(p.Description),
			Policy:      pulumi.String(string(doc)),
			Tags:        tagsFor(p.Tags),
		}, adopt("policy", p.Name)...)
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
		role, err := iam.NewRole(ctx, name+"-role-"+r.ID, roleArgs, adopt("role", r.Name)...)
		if err != nil {
			return nil, err
		}
		roleArns[r.Name] = role.Arn
		for _, an := range attachmentNames(name+"-"+r.ID+"-attach-", r.Attachments) {
			var arn pulumi.StringInput = pulumi.String(an.att.ARN)
			if an.att.PolicyID != "" {
				arn = policyByID[an.att.PolicyID].Arn
			}
			o := []pulumi.ResourceOption{parent}
			if an.alias != "" {
				o = append(o, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(an.alias)}}))
			}
			if _, err := iam.NewRolePolicyAttachment(ctx, an.name, &iam.RolePolicyAttachmentArgs{
				Role:      role.Name,
				PolicyArn: arn,
			}, o...); err != nil {
				return nil, err
			}
		}
		inlineNames := make([]string, 0, len(r.InlinePolicies))
		for n := range r.InlinePolicies {
			inlineNames = append(inlineNames, n)
		}
		sort.Strings(inlineNames)
		for _, n := range inlineNames {
			doc, err := json.Marshal(r.InlinePolicies[n])
			if err != nil {
				return nil, fmt.Errorf("VendorAccess %s: role %s: inline policy %s: %w", name, r.Name, n, err)
			}
			if _, err := iam.NewRolePolicy(ctx, name+"-"+r.ID+"-inline-"+n, &iam.RolePolicyArgs{
				Role:   role.Name,
				Name:   pulumi.String(n),
				Policy: pulumi.String(string(doc)),
			}, parent); err != nil {
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

// attachmentName is one role attachment's logical name, and the name it had before names were
// derived from the whole ARN, when existing stacks must be told about it.
type attachmentName struct {
	att   vendors.RoleAttachment
	name  string
	alias string
}

// attachmentNames names a role's attachments uniquely. A spec policy's attachment is named
// after the policy's ID, as it always was (IDs are unique within a spec). A managed policy's
// attachment is named after its whole ARN: names used to end with the ARN's last segment only,
// so "arn:aws:iam::aws:policy/X" and "arn:aws:iam::123456789012:policy/X", or a spec policy
// with ID "X" and a managed policy named X, gave two resources one URN and the update failed.
// (An ARN cannot equal a spec ID: the spec resolves such a reference to its own policy. URN
// names may hold "::", so the ARN is used as is and stays readable.)
//
// Renaming changes the URN of attachments already deployed under the old name, and a renamed
// attachment would be replaced: created (a no-op, the policy is already attached), then the old
// one deleted, which detaches the policy. So each renamed attachment carries its old name as an
// alias, and the engine carries its state over instead. Only when the old name was unambiguous:
// a name two attachments shared could not have been deployed (the duplicate URN failed the
// update), the engine refuses two resources aliasing one URN, and a spec attachment still
// uses its old name as its current one. Aliasing always (rather than keeping the old name where
// it is unambiguous, and disambiguating only collisions) keeps a name from depending on the
// role's other attachments: adding an attachment later never renames an existing one.
func attachmentNames(prefix string, atts []vendors.RoleAttachment) []attachmentName {
	oldName := func(a vendors.RoleAttachment) string {
		if a.PolicyID != "" {
			return prefix + a.PolicyID
		}
		return prefix + a.ARN[strings.LastIndex(a.ARN, "/")+1:]
	}
	uses := map[string]int{}
	for _, a := range atts {
		uses[oldName(a)]++
	}
	out := make([]attachmentName, 0, len(atts))
	for _, a := range atts {
		n := attachmentName{att: a, name: prefix + a.PolicyID}
		if a.PolicyID == "" {
			n.name = prefix + a.ARN
			if old := oldName(a); uses[old] == 1 {
				n.alias = old
			}
		}
		out = append(out, n)
	}
	return out
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

func validateAccountID(id string) error {
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return fmt.Errorf("%q: an AWS account ID is exactly 12 digits", id)
	}
	return nil
}

func validateTags(tags map[string]string) error {
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return fmt.Errorf("key %q must be 1 to 128 characters", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return fmt.Errorf("key %q: the aws: prefix is reserved by AWS", k)
		}
		if len(v) > 256 {
			return fmt.Errorf("%q: a tag value is at most 256 characters", k)
		}
	}
	return nil
}
