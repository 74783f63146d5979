// Package cfnimport turns a vendor's CloudFormation template (the form most vendors publish
// their access in) into a byoc-access vendor spec: managed policies, roles, trust policies,
// inline policies, !Ref between them and parameters. Whatever it cannot translate is reported,
// never dropped in silence.
package cfnimport

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

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

// cfnTags are CloudFormation's YAML short forms and the long form each stands for.
var cfnTags = map[string]string{
	"!Ref": "Ref", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join", "!If": "Fn::If",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!ImportValue": "Fn::ImportValue", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!GetAZs": "Fn::GetAZs", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!Condition": "Condition", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString",
}

var specName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Import converts a template (YAML or JSON) into a vendor spec.
func Import(file string, data []byte, opts Options) (*Result, error) {
	if !specName.MatchString(opts.Name) {
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
	for _, k := range sortedKeys(tpl) {
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

// ParseTemplate reads a CloudFormation template, YAML or JSON, into plain values, with the
// short forms of intrinsic functions (!Ref, !Sub, ...) turned into their long forms.
func ParseTemplate(file string, data []byte) (map[string]any, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: not a YAML or JSON template: %w", file, err)
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("%s: empty template", file)
	}
	v, err := toValue(f.Docs[0].Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	tpl, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a template is a map with Resources", file)
	}
	return tpl, nil
}

// Marshal writes a spec as YAML that vendors.Load accepts.
func Marshal(s *vendors.VendorSpec) ([]byte, error) {
	return yaml.MarshalWithOptions(s, yaml.IndentSequence(true))
}

func toValue(n ast.Node) (any, error) {
	switch x := n.(type) {
	case *ast.DocumentNode:
		return toValue(x.Body)
	case *ast.TagNode:
		long, ok := cfnTags[x.Start.Value]
		if !ok {
			return toValue(x.Value)
		}
		inner, err := toValue(x.Value)
		if err != nil {
			return nil, err
		}
		if long == "Fn::GetAtt" {
			if s, ok := inner.(string); ok {
				inner = toAnyList(strings.SplitN(s, ".", 2))
			}
		}
		return map[string]any{long: inner}, nil
	case *ast.MappingNode:
		out := map[string]any{}
		for _, mv := range x.Values {
			k, v, err := pair(mv)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case *ast.MappingValueNode:
		k, v, err := pair(x)
		if err != nil {
			return nil, err
		}
		return map[string]any{k: v}, nil
	case *ast.SequenceNode:
		out := make([]any, 0, len(x.Values))
		for _, el := range x.Values {
			v, err := toValue(el)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.AnchorNode:
		return toValue(x.Value)
	case nil:
		return nil, nil
	default:
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func pair(mv *ast.MappingValueNode) (string, any, error) {
	var k any
	if err := yaml.NodeToValue(mv.Key, &k); err != nil {
		return "", nil, err
	}
	v, err := toValue(mv.Value)
	return fmt.Sprint(k), v, err
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
	for _, name := range sortedKeys(ps) {
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
	for _, id := range sortedKeys(c.resources) {
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
	for _, id := range sortedKeys(c.resources) {
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
	for _, id := range sortedKeys(c.resources) {
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

func (c *converter) roleRefs(v any, path string, roles map[string]*vendors.RoleSpec) []string {
	list, _ := v.([]any)
	var out []string
	for i, x := range list {
		if m, ok := x.(map[string]any); ok {
			if ref, ok := m["Ref"].(string); ok {
				if _, isRole := roles[ref]; isRole && roles[ref] != nil {
					out = append(out, ref)
					continue
				}
			}
		}
		c.issue(fmt.Sprintf("%s[%d]", path, i), "only !Ref to a role of this template is supported")
	}
	return out
}

// policyRef turns a ManagedPolicyArns entry into a spec policy ID or an ARN template.
func (c *converter) policyRef(v any, path string, policyIDs map[string]bool) string {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["Ref"].(string); ok && policyIDs[ref] {
			return ref
		}
	}
	return c.str(v, path)
}

// str converts a value that must be a string: a literal, !Ref to a parameter or pseudo
// parameter, !Sub, or !Join of those.
func (c *converter) str(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.ReplaceAll(x, "${", "$${")
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x)
	case map[string]any:
		if len(x) != 1 {
			break
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return c.ref(name, path)
			case "Fn::Sub":
				return c.sub(arg, path)
			case "Fn::FindInMap":
				return c.findInMap(arg, path)
			case "Fn::Join":
				parts, _ := arg.([]any)
				if len(parts) == 2 {
					delim, _ := parts[0].(string)
					items, _ := parts[1].([]any)
					var out []string
					for i, it := range items {
						out = append(out, c.str(it, fmt.Sprintf("%s.Fn::Join[%d]", path, i)))
					}
					return strings.Join(out, delim)
				}
			default:
				c.issue(path, fmt.Sprintf("intrinsic function %s is not supported; replace it with a parameter or a literal", fn))
				return ""
			}
		}
	}
	c.issue(path, fmt.Sprintf("expected a string, got %T", v))
	return ""
}

var pseudo = map[string]string{
	"AWS::AccountId": "${account_id}",
	"AWS::Partition": "${partition}",
	"AWS::Region":    "${region}",
}

func (c *converter) ref(name, path string) string {
	if t, ok := pseudo[name]; ok {
		return t
	}
	if c.params[name] {
		return "${" + name + "}"
	}
	if res, ok := c.resources[name].(map[string]any); ok {
		c.issue(path, fmt.Sprintf("!Ref %s (a %v) is supported only in ManagedPolicyArns, PermissionsBoundary and Roles", name, res["Type"]))
		return ""
	}
	c.issue(path, fmt.Sprintf("!Ref %s: no such parameter or pseudo parameter", name))
	return ""
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (c *converter) sub(arg any, path string) string {
	tpl, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		tpl = x
	case []any:
		if len(x) == 2 {
			tpl, _ = x[0].(string)
			vars, _ = x[1].(map[string]any)
		}
	}
	return subVar.ReplaceAllStringFunc(tpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "$${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return c.str(v, path+".Fn::Sub."+name)
		}
		if strings.Contains(name, ".") {
			c.issue(path, fmt.Sprintf("!Sub ${%s}: resource attributes are not supported", name))
			return m
		}
		return c.ref(name, path)
	})
}

// doc converts a policy document, translating intrinsic functions inside string values.
func (c *converter) doc(v any, path string, policyIDs map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return c.str(x, path)
				}
			}
		}
		out := map[string]any{}
		for k, el := range x {
			out[k] = c.doc(el, path+"."+k, policyIDs)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for i, el := range x {
			out = append(out, c.doc(el, fmt.Sprintf("%s[%d]", path, i), policyIDs))
		}
		return out
	case string:
		return strings.ReplaceAll(x, "${", "$${")
	}
	return v
}

// trust converts an AssumeRolePolicyDocument into trust statements.
func (c *converter) trust(v any, path string) []vendors.TrustStatement {
	doc, _ := v.(map[string]any)
	var stmts []any
	switch s := doc["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	var out []vendors.TrustStatement
	for i, s := range stmts {
		sp := fmt.Sprintf("%s.Statement[%d]", path, i)
		m, _ := s.(map[string]any)
		ts := vendors.TrustStatement{}
		if sid, ok := m["Sid"]; ok {
			str := c.str(sid, sp+".Sid")
			ts.Sid = &str
		}
		ts.Effect = c.str(m["Effect"], sp+".Effect")
		ts.Actions = c.strList(m["Action"], sp+".Action")
		switch p := m["Principal"].(type) {
		case map[string]any:
			for _, typ := range sortedKeys(p) {
				ids := c.strList(p[typ], sp+".Principal."+typ)
				ts.Principals = append(ts.Principals, vendors.Principal{Type: typ, Identifiers: identifiers(ids)})
			}
		default:
			c.issue(sp+".Principal", "a trust statement must name principals by type (AWS, Federated, Service); \"*\" is not allowed")
		}
		if cond, ok := m["Condition"].(map[string]any); ok {
			for _, test := range sortedKeys(cond) {
				vars, _ := cond[test].(map[string]any)
				for _, variable := range sortedKeys(vars) {
					vals := c.strList(vars[variable], sp+".Condition."+test+"."+variable)
					ts.Conditions = append(ts.Conditions, vendors.TrustCondition{Test: test, Variable: variable, Values: identifiers(vals)})
				}
			}
		}
		for _, k := range []string{"NotPrincipal", "NotAction"} {
			if _, ok := m[k]; ok {
				c.issue(sp+"."+k, k+" is not supported in trust statements")
			}
		}
		out = append(out, ts)
	}
	if len(out) == 0 {
		c.issue(path, "no trust statements")
	}
	return out
}

func (c *converter) strList(v any, path string) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for i, el := range list {
			out = append(out, c.str(el, fmt.Sprintf("%s[%d]", path, i)))
		}
		return out
	}
	return []string{c.str(v, path)}
}

// identifiers keeps a single identifier a string, so the spec reads like the template.
func identifiers(ids []string) any {
	if len(ids) == 1 {
		return ids[0]
	}
	return toAnyList(ids)
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func splitTrim(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// conditions turns template conditions that compare one parameter (or pseudo parameter) with
// a literal, or negate such a comparison, into lookup locals that are true or false, so
// resources and !If branches can use them as `when`. Other forms are reported.
func (c *converter) conditions(conds map[string]any) {
	for _, name := range sortedKeys(conds) {
		path := "Conditions." + name
		local, err := c.condition(name, conds[name])
		if err != nil {
			c.issue(path, fmt.Sprintf("condition %s: %v; the resources and branches that use it are listed too", name, err))
			continue
		}
		c.spec.Locals = append(c.spec.Locals, local)
		c.conds[name] = local.Name
	}
}

func (c *converter) condition(name string, expr any) (vendors.Local, error) {
	local := vendors.Local{Name: name}
	if !identifier.MatchString(name) {
		return local, fmt.Errorf("the name is not a valid spec identifier")
	}
	if c.params[name] {
		// Conditions and parameters are separate namespaces in CloudFormation, not in a spec.
		local.Name = name + "Condition"
		if c.params[local.Name] {
			return local, fmt.Errorf("its name is also a parameter's")
		}
	}
	negate := false
	m, _ := expr.(map[string]any)
	if not, ok := m["Fn::Not"].([]any); ok && len(m) == 1 && len(not) == 1 {
		negate = true
		m, _ = not[0].(map[string]any)
	}
	eq, ok := m["Fn::Equals"].([]any)
	if !ok || len(m) != 1 || len(eq) != 2 {
		return local, fmt.Errorf("only Fn::Equals of a parameter and a literal, or Fn::Not of one, translate")
	}
	key, lit, ok := c.equalsOperands(eq[0], eq[1])
	if !ok {
		if key, lit, ok = c.equalsOperands(eq[1], eq[0]); !ok {
			return local, fmt.Errorf("only Fn::Equals of a parameter (or AWS::Partition, AWS::Region, AWS::AccountId) and a literal translates")
		}
	}
	local.Lookup = key
	local.Map = map[string]any{lit: !negate}
	local.Default = negate
	return local, nil
}

// equalsOperands accepts {Ref: P} and a literal, returning the key template and the literal.
func (c *converter) equalsOperands(ref, lit any) (string, string, bool) {
	m, ok := ref.(map[string]any)
	if !ok || len(m) != 1 {
		return "", "", false
	}
	name, ok := m["Ref"].(string)
	if !ok {
		return "", "", false
	}
	key, isPseudo := pseudo[name]
	if !isPseudo {
		if !c.params[name] {
			return "", "", false
		}
		key = "${" + name + "}"
	}
	switch x := lit.(type) {
	case string:
		return key, x, true
	case bool, int, int64, uint64, float64:
		return key, fmt.Sprint(x), true
	}
	return "", "", false
}

// resourceWhen is the `when` of a resource with a Condition, or nil.
func (c *converter) resourceWhen(id string, res map[string]any) vendors.Conditions {
	raw, ok := res["Condition"]
	if !ok {
		return nil
	}
	name, _ := raw.(string)
	if local, ok := c.conds[name]; ok {
		return vendors.Conditions{local}
	}
	c.issue("Resources."+id+".Condition", fmt.Sprintf("resource condition %v was not translated (see Conditions); the resource is always created", raw))
	return nil
}

// attachments converts ManagedPolicyArns: a list, an !If between lists, or a list whose
// entries may be !If between an ARN and AWS::NoValue. Each branch's entries are attached when
// its side of the condition holds.
func (c *converter) attachments(v any, path string, when vendors.Conditions, policyIDs map[string]bool, policyWhen map[string]vendors.Conditions) []vendors.Attachment {
	if isNoValue(v) {
		return nil
	}
	if cond, yes, no, ok := c.ifBranches(v, path); ok {
		out := c.attachments(yes, path+".Fn::If[1]", append(append(vendors.Conditions{}, when...), cond), policyIDs, policyWhen)
		return append(out, c.attachments(no, path+".Fn::If[2]", append(append(vendors.Conditions{}, when...), "!"+cond), policyIDs, policyWhen)...)
	}
	if list, ok := v.([]any); ok {
		var out []vendors.Attachment
		for i, el := range list {
			out = append(out, c.attachments(el, fmt.Sprintf("%s[%d]", path, i), when, policyIDs, policyWhen)...)
		}
		return out
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if _, isIf := m["Fn::If"]; isIf {
			return nil // reported by ifBranches
		}
	}
	ref := c.policyRef(v, path, policyIDs)
	if ref == "" {
		return nil
	}
	w := append(vendors.Conditions{}, when...)
	w = append(w, policyWhen[ref]...)
	if len(w) == 0 {
		w = nil
	}
	return []vendors.Attachment{{Policy: ref, When: w}}
}

// ifBranches splits {Fn::If: [cond, then, else]} when cond was translated; it reports an
// !If on a condition that was not.
func (c *converter) ifBranches(v any, path string) (cond string, yes, no any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, nil, false
	}
	args, isIf := m["Fn::If"].([]any)
	if !isIf {
		return "", nil, nil, false
	}
	if len(args) != 3 {
		c.issue(path, "Fn::If takes a condition name and two values")
		return "", nil, nil, false
	}
	name, _ := args[0].(string)
	local, known := c.conds[name]
	if !known {
		c.issue(path, fmt.Sprintf("Fn::If on condition %v, which was not translated; nothing is attached here", args[0]))
		return "", nil, nil, false
	}
	return local, args[1], args[2], true
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

// findInMap translates Fn::FindInMap [Map, TopKey, SecondKey] where one key is a literal and
// the other a !Ref to a parameter or pseudo parameter: a lookup local over the mapping's
// column (or row), with no default, so an unknown key fails as it does in CloudFormation.
// Two literal keys give the value itself.
func (c *converter) findInMap(arg any, path string) string {
	args, _ := arg.([]any)
	if len(args) != 3 {
		c.issue(path, "Fn::FindInMap takes a map name and two keys")
		return ""
	}
	mapName, _ := args[0].(string)
	mapping, ok := c.mappings[mapName].(map[string]any)
	if !ok {
		c.issue(path, fmt.Sprintf("Fn::FindInMap: no mapping %v in Mappings", args[0]))
		return ""
	}
	top, topLit := literalKey(args[1])
	second, secondLit := literalKey(args[2])
	value := func(v any, where string) (string, bool) {
		switch x := v.(type) {
		case string:
			return strings.ReplaceAll(x, "${", "$${"), true
		case bool, int, int64, uint64, float64:
			return fmt.Sprint(x), true
		}
		c.issue(path, fmt.Sprintf("Fn::FindInMap: %s is not a string", where))
		return "", false
	}
	switch {
	case topLit && secondLit:
		row, _ := mapping[top].(map[string]any)
		v, ok := row[second]
		if !ok {
			c.issue(path, fmt.Sprintf("Fn::FindInMap: %s has no %s.%s", mapName, top, second))
			return ""
		}
		out, _ := value(v, mapName+"."+top+"."+second)
		return out
	case !topLit && !secondLit:
		c.issue(path, "Fn::FindInMap with two !Ref keys is not supported; one key must be a literal")
		return ""
	}
	// One key varies: the local maps its values to the cells of the fixed key.
	refArg, fixed := args[1], second
	if topLit {
		refArg, fixed = args[2], top
	}
	refName := ""
	if m, ok := refArg.(map[string]any); ok && len(m) == 1 {
		refName, _ = m["Ref"].(string)
	}
	if refName == "" {
		c.issue(path, "Fn::FindInMap: a key must be a literal or a !Ref to a parameter")
		return ""
	}
	key := c.ref(refName, path)
	if key == "" {
		return ""
	}
	name := identifierOf(mapName + "_" + strings.ReplaceAll(refName, "AWS::", "") + "_" + fixed)
	if c.params[name] {
		c.issue(path, fmt.Sprintf("Fn::FindInMap: the local it needs, %s, would shadow a parameter", name))
		return ""
	}
	if c.mapLocals == nil {
		c.mapLocals = map[string]bool{}
	}
	if !c.mapLocals[name] {
		entries := map[string]any{}
		if topLit {
			// The row mapping[top], keyed by the second key.
			row, _ := mapping[top].(map[string]any)
			for _, k := range sortedKeys(row) {
				if v, ok := value(row[k], mapName+"."+top+"."+k); ok {
					entries[k] = v
				}
			}
		} else {
			// The column of the second key, keyed by the top key.
			for _, k := range sortedKeys(mapping) {
				row, _ := mapping[k].(map[string]any)
				if v, ok := row[second]; ok {
					if s, ok := value(v, mapName+"."+k+"."+second); ok {
						entries[k] = s
					}
				}
			}
		}
		c.spec.Locals = append(c.spec.Locals, vendors.Local{Name: name, Lookup: key, Map: entries})
		c.mapLocals[name] = true
	}
	return "${" + name + "}"
}

func literalKey(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// identifierOf makes a spec identifier of a name built from template keys.
func identifierOf(s string) string {
	s = nonIdent.ReplaceAllString(s, "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "m_" + s
	}
	return s
}
