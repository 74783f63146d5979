package cfnimport

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/byoc-access/byoc-access/vendors"
)

// Issue is one part of the template that was not translated.
type Issue struct {
	// Path locates it in the template, e.g. Resources.Bucket.Type.
	Path    string
	Message string
}

func (i Issue) String() string { return i.Path + ": " + i.Message }

// Result is the spec made from a template and what could not be carried over.
type Result struct {
	Spec   *vendors.VendorSpec
	Issues []Issue
}

// Options name the vendor spec being made.
type Options struct {
	// Name is the spec's short name (lower case, digits, dashes).
	Name string
	// Vendor is the display name; defaults to Name.
	Vendor string
	// Source is recorded in the spec, e.g. the template's URL.
	Source string
}

// Import converts a template (YAML or JSON) into a vendor spec.
func Import(file string, data []byte, opts Options) (*Result, error) {
	if !vendors.IsSpecName(opts.Name) {
		return nil, fmt.Errorf("--name %q: a spec name is lower-case letters, digits and dashes, e.g. acme", opts.Name)
	}
	tpl, err := ParseTemplate(file, data)
	if err != nil {
		return nil, err
	}
	resources, ok := tpl["Resources"].(map[string]any)
	if !ok || len(resources) == 0 {
		return nil, fmt.Errorf("%s: the template has no Resources", file)
	}
	c := &converter{
		resources: resources,
		params:    map[string]bool{},
		conds:     map[string]string{},
		spec: &vendors.VendorSpec{
			APIVersion: vendors.SpecVersion,
			Name:       opts.Name,
			Vendor:     opts.Vendor,
			Source:     opts.Source,
			Tags:       map[string]string{},
		},
	}
	if c.spec.Vendor == "" {
		c.spec.Vendor = opts.Name
	}
	if d, ok := tpl["Description"].(string); ok {
		c.spec.Description = d
	}
	// Parameters first: conditions refer to them.
	if ps, ok := tpl["Parameters"].(map[string]any); ok {
		c.parameters(ps)
	}
	for _, k := range slices.Sorted(maps.Keys(tpl)) {
		switch k {
		case "AWSTemplateFormatVersion", "Description", "Resources", "Parameters", "Metadata":
		case "Mappings":
			// Read where Fn::FindInMap uses them.
			c.mappings, _ = tpl["Mappings"].(map[string]any)
		case "Conditions":
			conds, _ := tpl["Conditions"].(map[string]any)
			c.conditions(conds)
		case "Outputs":
			c.issue("Outputs", "outputs are not carried over; byoc-access outputs role and policy ARNs and a handoff itself")
		default:
			c.issue(k, fmt.Sprintf("template section %s is not supported", k))
		}
	}
	c.convert()
	if len(c.spec.Tags) == 0 {
		c.spec.Tags = nil
	}
	return &Result{Spec: c.spec, Issues: c.issues}, nil
}

// Marshal writes a spec as YAML that vendors.Load accepts.
func Marshal(s *vendors.VendorSpec) ([]byte, error) {
	return yaml.MarshalWithOptions(s, yaml.IndentSequence(true))
}

type converter struct {
	resources map[string]any
	params    map[string]bool
	// conds maps each translated template condition to the spec local that holds it.
	conds map[string]string
	// mappings is the template's Mappings section; mapLocals the locals made from it.
	mappings  map[string]any
	mapLocals map[string]bool
	spec      *vendors.VendorSpec
	issues    []Issue
}

func (c *converter) issue(path, msg string) {
	c.issues = append(c.issues, Issue{Path: path, Message: msg})
}

func (c *converter) parameters(ps map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		path := "Parameters." + name
		def, _ := ps[name].(map[string]any)
		p := vendors.Parameter{Name: name, Type: vendors.TypeString}
		typ, _ := def["Type"].(string)
		switch {
		case typ == "String" || strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<String>"):
		case typ == "Number":
			p.Type = vendors.TypeNumber
		case typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<"):
			p.Type = vendors.TypeList
		default:
			c.issue(path+".Type", fmt.Sprintf("parameter type %q is taken as a string", typ))
		}
		if d, ok := def["Description"].(string); ok {
			p.Description = d
		}
		if v, ok := def["Default"]; ok {
			p.Default = v
			if p.Type == vendors.TypeList {
				if s, ok := v.(string); ok {
					p.Default = toAnyList(splitTrim(s))
				}
			}
		} else {
			p.Required = true
		}
		if pat, ok := def["AllowedPattern"].(string); ok {
			p.Pattern = "^(?:" + pat + ")$"
		}
		if av, ok := def["AllowedValues"].([]any); ok {
			for _, x := range av {
				p.Enum = append(p.Enum, fmt.Sprint(x))
			}
		}
		if strings.Contains(strings.ToLower(name), "externalid") {
			p.Format = "externalId"
			if c.spec.Handoff.ExternalIDParam == "" && p.Type == vendors.TypeString {
				c.spec.Handoff.ExternalIDParam = name
			}
		}
		for _, k := range []string{"MinLength", "MaxLength", "MinValue", "MaxValue", "ConstraintDescription", "NoEcho"} {
			if _, ok := def[k]; ok {
				c.issue(path+"."+k, k+" is not carried over; add a pattern or format to the spec parameter if it matters")
			}
		}
		c.params[name] = true
		c.spec.Parameters = append(c.spec.Parameters, p)
	}
}

func (c *converter) convert() {
	// Policies first, so roles can refer to them by logical ID.
	policyIDs := map[string]bool{}
	// policyWhen is each managed policy's condition, which its attachments share: a policy
	// that is not created cannot be attached.
	policyWhen := map[string]vendors.Conditions{}
	roles := map[string]*vendors.RoleSpec{}
	var roleOrder []string
	for _, id := range slices.Sorted(maps.Keys(c.resources)) {
		res, _ := c.resources[id].(map[string]any)
		path := "Resources." + id
		typ, _ := res["Type"].(string)
		switch typ {
		case "AWS::IAM::ManagedPolicy":
			policyIDs[id] = true
		case "AWS::IAM::Role":
			roles[id] = nil
			roleOrder = append(roleOrder, id)
		case "AWS::IAM::Policy":
		default:
			c.issue(path+".Type", fmt.Sprintf("resource type %s is not supported: byoc-access grants access with IAM managed policies, roles and inline policies only", typ))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.resources)) {
		res, _ := c.resources[id].(map[string]any)
		if res["Type"] != "AWS::IAM::ManagedPolicy" {
			continue
		}
		path := "Resources." + id + ".Properties"
		props, _ := res["Properties"].(map[string]any)
		p := vendors.PolicySpec{ID: id, When: c.resourceWhen(id, res)}
		policyWhen[id] = p.When
		p.Name = c.str(props["ManagedPolicyName"], path+".ManagedPolicyName")
		if p.Name == "" {
			p.Name = id
			c.issue(path+".ManagedPolicyName", fmt.Sprintf("no ManagedPolicyName: CloudFormation would generate one; the spec names the policy %s", id))
		}
		p.Path = c.str(props["Path"], path+".Path")
		p.Description = c.str(props["Description"], path+".Description")
		p.Document = c.doc(props["PolicyDocument"], path+".PolicyDocument", policyIDs)
		for _, k := range []string{"Groups", "Users"} {
			if _, ok := props[k]; ok {
				c.issue(path+"."+k, k+" attachments are not supported: byoc-access grants access through roles")
			}
		}
		c.spec.Policies = append(c.spec.Policies, p)
	}
	for _, id := range roleOrder {
		res, _ := c.resources[id].(map[string]any)
		path := "Resources." + id + ".Properties"
		props, _ := res["Properties"].(map[string]any)
		r := vendors.RoleSpec{ID: id, When: c.resourceWhen(id, res)}
		r.Name = c.str(props["RoleName"], path+".RoleName")
		if r.Name == "" {
			r.Name = id
			c.issue(path+".RoleName", fmt.Sprintf("no RoleName: CloudFormation would generate one; the spec names the role %s", id))
		}
		r.Path = c.str(props["Path"], path+".Path")
		r.Description = c.str(props["Description"], path+".Description")
		if m, ok := props["MaxSessionDuration"]; ok {
			switch n := m.(type) {
			case uint64:
				r.MaxSessionDuration = int(n)
			case int64:
				r.MaxSessionDuration = int(n)
			case float64:
				r.MaxSessionDuration = int(n)
			default:
				c.issue(path+".MaxSessionDuration", "only a literal number is supported")
			}
		}
		r.Trust = c.trust(props["AssumeRolePolicyDocument"], path+".AssumeRolePolicyDocument")
		if arns, ok := props["ManagedPolicyArns"]; ok {
			r.Policies = c.attachments(arns, path+".ManagedPolicyArns", nil, policyIDs, policyWhen)
		}
		if b, ok := props["PermissionsBoundary"]; ok {
			r.PermissionsBoundary = c.policyRef(b, path+".PermissionsBoundary", policyIDs)
		}
		if inl, ok := props["Policies"].([]any); ok {
			for i, x := range inl {
				m, _ := x.(map[string]any)
				ip := fmt.Sprintf("%s.Policies[%d]", path, i)
				r.InlinePolicies = append(r.InlinePolicies, vendors.InlinePolicy{
					Name:     c.str(m["PolicyName"], ip+".PolicyName"),
					Document: c.doc(m["PolicyDocument"], ip+".PolicyDocument", policyIDs),
				})
			}
		}
		if tags, ok := props["Tags"].([]any); ok {
			for i, t := range tags {
				m, _ := t.(map[string]any)
				k := c.str(m["Key"], fmt.Sprintf("%s.Tags[%d].Key", path, i))
				c.spec.Tags[k] = c.str(m["Value"], fmt.Sprintf("%s.Tags[%d].Value", path, i))
			}
			c.issue(path+".Tags", "role tags become spec tags, which byoc-access applies to every role and policy")
		}
		roles[id] = &r
	}
	// Managed policies that name their roles, and AWS::IAM::Policy inline policies.
	for _, id := range slices.Sorted(maps.Keys(c.resources)) {
		res, _ := c.resources[id].(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		path := "Resources." + id + ".Properties"
		switch res["Type"] {
		case "AWS::IAM::ManagedPolicy":
			for _, rid := range c.roleRefs(props["Roles"], path+".Roles", roles) {
				roles[rid].Policies = append(roles[rid].Policies, vendors.Attachment{Policy: id, When: policyWhen[id]})
			}
		case "AWS::IAM::Policy":
			if _, ok := res["Condition"]; ok {
				c.issue("Resources."+id+".Condition", "a condition on an AWS::IAM::Policy is not supported: the inline policy is always added")
			}
			name := c.str(props["PolicyName"], path+".PolicyName")
			doc := c.doc(props["PolicyDocument"], path+".PolicyDocument", policyIDs)
			for _, rid := range c.roleRefs(props["Roles"], path+".Roles", roles) {
				roles[rid].InlinePolicies = append(roles[rid].InlinePolicies, vendors.InlinePolicy{Name: name, Document: doc})
			}
			for _, k := range []string{"Groups", "Users"} {
				if _, ok := props[k]; ok {
					c.issue(path+"."+k, k+" are not supported: byoc-access grants access through roles")
				}
			}
		}
	}
	for _, id := range roleOrder {
		c.spec.Roles = append(c.spec.Roles, *roles[id])
	}
	if len(c.spec.Roles) == 0 {
		c.issue("Resources", "the template has no AWS::IAM::Role: a vendor spec needs at least one role the vendor assumes")
	}
}
