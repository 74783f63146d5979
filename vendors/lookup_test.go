package vendors_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
)

// selectSpec picks a trusted account per site (lookup with map and default), a key ARN or a
// name (lookup with patterns), statements per tier (local when, spliced into Statement) and a
// parameter needed only for one tier (requiredWhen).
const selectSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: site, type: string, default: us}
  - {name: tier, type: string, default: basic, enum: [basic, pro]}
  - {name: key, type: string, default: ""}
  - {name: vpc_id, type: string, default: "", requiredWhen: [pro]}
  - {name: zones, type: list, default: [a, b]}
locals:
  - name: site_account
    lookup: ${site}
    map: {us: "111111111111", eu: "222222222222", gov: "acct-${zones}"}
  - name: pro
    lookup: ${tier}
    map: {pro: true}
    default: false
  - name: key_arn
    when: [key]
    lookup: ${key}
    patterns:
      - {regex: "^arn:", value: "${key}"}
    default: arn:${partition}:kms:${key}
  - name: pro_actions
    lookup: ${tier}
    map: {pro: ["ec2:RunInstances"]}
    default: []
  - name: pro_statements
    when: [pro]
    value:
      - {Sid: Pro, Effect: Allow, Action: ec2:TerminateInstances, Resource: "arn:${partition}:ec2:*:${account_id}:vpc/${vpc_id}"}
  - name: key_statements
    when: [key]
    value:
      - {Effect: Allow, Action: kms:Decrypt, Resource: ["${key_arn}"]}
policies:
  - name: AcmePolicy
    document:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: ["ec2:Describe*", "${pro_actions}"], Resource: "*"}
        - ${pro_statements}
        - ${key_statements}
roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::${site_account}:root"}]
    policies: [{policy: AcmePolicy}]
`

func TestLookupWhenAndRequiredWhen(t *testing.T) {
	spec, err := vendors.Load("acme.yaml", []byte(selectSpec))
	require.NoError(t, err)

	tests := []struct {
		name       string
		params     map[string]any
		principal  string
		statements []any
		err        string
	}{
		{
			name:      "defaults: map entry, no optional statements",
			principal: "arn:aws:iam::111111111111:root",
			statements: []any{
				map[string]any{"Effect": "Allow", "Action": []any{"ec2:Describe*"}, "Resource": "*"},
			},
		},
		{
			name:      "pro tier splices its actions and statements; a key name gets the ARN prefix",
			params:    map[string]any{"site": "eu", "tier": "pro", "vpc_id": "vpc-1", "key": "us-east-1:123456789012:key/k"},
			principal: "arn:aws:iam::222222222222:root",
			statements: []any{
				map[string]any{"Effect": "Allow", "Action": []any{"ec2:Describe*", "ec2:RunInstances"}, "Resource": "*"},
				map[string]any{"Sid": "Pro", "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "arn:aws:ec2:*:123456789012:vpc/vpc-1"},
				map[string]any{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": []any{"arn:aws:kms:us-east-1:123456789012:key/k"}},
			},
		},
		{
			name:      "a key ARN matches the pattern and is kept",
			params:    map[string]any{"key": "arn:aws:kms:eu-west-1:999999999999:key/x"},
			principal: "arn:aws:iam::111111111111:root",
			statements: []any{
				map[string]any{"Effect": "Allow", "Action": []any{"ec2:Describe*"}, "Resource": "*"},
				map[string]any{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": []any{"arn:aws:kms:eu-west-1:999999999999:key/x"}},
			},
		},
		{
			name:   "a key with no entry and no default is an error naming the known keys",
			params: map[string]any{"site": "ap"},
			err:    `locals[0] (site_account): lookup: no entry for "ap"; the known values are eu, gov, us`,
		},
		{
			name:   "an entry is evaluated only when chosen",
			params: map[string]any{"site": "gov"},
			err:    "map[gov]: ${zones} inside \"acct-${zones}\": a list cannot be placed inside a string",
		},
		{
			name:   "requiredWhen holds and the parameter is empty",
			params: map[string]any{"tier": "pro"},
			err:    `parameter "vpc_id": is required when pro holds`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := spec.Resolve(target(), tt.params)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.principal, g.Roles[0].TrustPolicy["Statement"].([]any)[0].(map[string]any)["Principal"].(map[string]any)["AWS"])
			require.Equal(t, tt.statements, g.Policies[0].Document["Statement"])
		})
	}

	_, err = spec.Resolve(target(), map[string]any{"tier": "pro"})
	var perr *vendors.ParamError
	require.True(t, errors.As(err, &perr), "a missing conditional parameter is a ParamError: %v", err)
	require.Equal(t, "vpc_id", perr.Param)
}

func TestLookupSpecErrors(t *testing.T) {
	base := func(locals, params string) string {
		return `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: site, type: string, default: us}
` + params + `locals:
` + locals + `roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111111111111:root"}]
`
	}
	tests := []struct {
		name string
		spec string
		want string
	}{
		{"map without lookup", base("  - {name: x, value: a, map: {us: b}}\n", ""), "locals[0]: map, patterns and default belong to a lookup local"},
		{"bad regex", base("  - {name: x, lookup: \"${site}\", patterns: [{regex: \"(\", value: a}]}\n", ""), `locals[0].patterns[0].regex: regex "(" does not compile`},
		{"unknown variable in an entry", base("  - {name: x, lookup: \"${site}\", map: {us: \"${nope}\"}}\n", ""), "unknown variable ${nope}"},
		{"unknown when of a local", base("  - {name: x, value: a, when: [later]}\n  - {name: later, value: b}\n", ""), `locals[0].when: when: unknown parameter or local "later"`},
		{"unknown requiredWhen", base("  - {name: x, value: a}\n", "  - {name: v, type: string, default: \"\", requiredWhen: [nope]}\n"), `parameters[1].requiredWhen: when: unknown parameter or local "nope"`},
		{"required and requiredWhen", base("  - {name: x, value: a}\n", "  - {name: v, type: string, required: true, requiredWhen: [x]}\n"), "a required parameter needs no requiredWhen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vendors.Load("acme.yaml", []byte(tt.spec))
			require.ErrorContains(t, err, tt.want)
		})
	}

	// A statement given as text must be a reference to a local holding statements.
	bad := `apiVersion: byoc-access/v1
vendor: Acme
name: acme
policies:
  - name: P
    document: {Version: "2012-10-17", Statement: ["not a statement"]}
roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111111111111:root"}]
`
	_, err := vendors.Load("acme.yaml", []byte(bad))
	require.ErrorContains(t, err, "policies[0].document.Statement[0]")
}
