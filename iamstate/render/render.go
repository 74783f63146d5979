package render

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/vendors"
)

// Options say where the spec is rendered.
type Options struct {
	// AccountID is required: ARNs and templates depend on it.
	AccountID string
	// Partition defaults to aws, Region to us-east-1.
	Partition string
	Region    string
	// Params are the vendor's parameters.
	Params map[string]any
	// Tags are extra tags, as the component's Tags.
	Tags map[string]string
	// KMSKeyARN resolves the account's default KMS keys; nil leaves a visible placeholder.
	KMSKeyARN func(keyID string) string
}

// Render runs the component under mocks and returns the IAM state it would create.
func Render(spec *vendors.VendorSpec, opts Options) (*iamstate.Account, error) {
	if err := validate.AccountID(opts.AccountID); err != nil {
		return nil, err
	}
	m := NewMocks(opts.AccountID, opts.Partition, opts.Region)
	m.KMSKeyARN = opts.KMSKeyARN
	// Resolved here first, so that a spec error reaches the user once, with its file and
	// line, rather than wrapped by the component and then by the engine ("1 error occurred:
	// * VendorAccess vendor: ..."). Key look-ups are the mocks' to do.
	if _, err := spec.Resolve(vendors.Target{AccountID: opts.AccountID, Partition: opts.Partition, Region: m.Region,
		LookupKMSKeyARN: func(id string) (string, error) {
			return "arn:aws:kms:" + m.Region + ":" + opts.AccountID + ":key/LOOKUP", nil
		}}, opts.Params); err != nil {
		return nil, err
	}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewVendorAccess(ctx, "vendor", &components.VendorAccessArgs{
			Spec:   spec,
			Params: opts.Params,
			Region: m.Region,
			Tags:   opts.Tags,
		})
		return err
	}, pulumi.WithMocks("byoc-access", "render", m))
	if err != nil {
		return nil, err
	}
	return FromResources(opts.AccountID, m.Resources())
}

// FromResources turns recorded IAM resource registrations into the IAM state they create.
func FromResources(accountID string, resources []Resource) (*iamstate.Account, error) {
	out := &iamstate.Account{AccountID: accountID, Roles: map[string]iamstate.Role{}, Policies: map[string]iamstate.Policy{}}
	for _, r := range resources {
		in := r.Inputs
		switch r.Type {
		case "aws:iam/policy:Policy":
			doc, err := parseDoc(in["policy"])
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", str(in, "name"), err)
			}
			out.Policies[str(in, "name")] = iamstate.Policy{
				Path:        defaultPath(str(in, "path")),
				Description: str(in, "description"),
				Document:    doc,
				Tags:        tags(in["tags"]),
			}
		case "aws:iam/role:Role":
			trust, err := parseDoc(in["assumeRolePolicy"])
			if err != nil {
				return nil, fmt.Errorf("role %s: trust policy: %w", str(in, "name"), err)
			}
			role := out.Roles[str(in, "name")]
			role.Path = defaultPath(str(in, "path"))
			role.Description = str(in, "description")
			role.TrustPolicy = trust
			role.MaxSessionDuration = 3600
			if n, ok := in["maxSessionDuration"].(float64); ok {
				role.MaxSessionDuration = int(n)
			}
			if b := str(in, "permissionsBoundary"); b != "" {
				role.PermissionsBoundary = &b
			}
			role.Tags = tags(in["tags"])
			out.Roles[str(in, "name")] = role
		}
	}
	// Attachments and inline policies refer to roles by name, which exist by now.
	for _, r := range resources {
		in := r.Inputs
		name := str(in, "role")
		switch r.Type {
		case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
			role, ok := out.Roles[name]
			if !ok {
				return nil, fmt.Errorf("attachment %s: unknown role %q", r.Name, name)
			}
			role.AttachedPolicies = append(role.AttachedPolicies, str(in, "policyArn"))
			out.Roles[name] = role
		case "aws:iam/rolePolicy:RolePolicy":
			role, ok := out.Roles[name]
			if !ok {
				return nil, fmt.Errorf("inline policy %s: unknown role %q", r.Name, name)
			}
			doc, err := parseDoc(in["policy"])
			if err != nil {
				return nil, fmt.Errorf("role %s: inline policy %s: %w", name, str(in, "name"), err)
			}
			if role.InlinePolicies == nil {
				role.InlinePolicies = map[string]any{}
			}
			role.InlinePolicies[str(in, "name")] = doc
			out.Roles[name] = role
		}
	}
	for name, role := range out.Roles {
		sort.Strings(role.AttachedPolicies)
		if role.AttachedPolicies == nil {
			role.AttachedPolicies = []string{}
		}
		if role.InlinePolicies == nil {
			role.InlinePolicies = map[string]any{}
		}
		if role.Tags == nil {
			role.Tags = map[string]string{}
		}
		out.Roles[name] = role
	}
	return out, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func defaultPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func tags(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

func parseDoc(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("document is %T, want JSON text", v)
	}
	var doc any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("document is not JSON: %w", err)
	}
	return doc, nil
}
