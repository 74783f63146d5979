package vendors_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/vendors"
)

func TestTemplates(t *testing.T) {
	spec := loadInline(t, `
apiVersion: byoc-access/v1
vendor: T
name: t
parameters:
  - {name: ids, type: list, default: [a, b]}
locals:
  - {name: arns, forEach: ids, format: "arn:${partition}:s3:::${each}"}
policies:
  - name: P
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: s3:GetObject
          Resource: ["${arns}", "arn:aws:s3:::c"]
        - Effect: Allow
          Action: ssm:TerminateSession
          Resource: "arn:aws:ssm:*:*:session/${aws:username}-*"
        - Effect: Allow
          Action: s3:ListBucket
          Resource: "arn:aws:s3:::$${literal}"
roles:
  - name: R
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "111122223333"}]
    policies: [{policy: P}]
`)
	g, err := spec.Resolve(target(), nil)
	require.NoError(t, err)
	st := g.Policies[0].Document["Statement"].([]any)
	require.Equal(t, []any{"arn:aws:s3:::a", "arn:aws:s3:::b", "arn:aws:s3:::c"}, st[0].(map[string]any)["Resource"], "a list reference splices into the list")
	require.Equal(t, "arn:aws:ssm:*:*:session/${aws:username}-*", st[1].(map[string]any)["Resource"], "IAM policy variables pass through")
	require.Equal(t, "arn:aws:s3:::${literal}", st[2].(map[string]any)["Resource"], "$${ is an escaped ${")
}

func TestPolicyOverSizeQuota(t *testing.T) {
	var actions []string
	for i := 0; i < 400; i++ {
		actions = append(actions, fmt.Sprintf("            - ec2:DescribeSomethingNumber%d", i))
	}
	spec := loadInline(t, `
apiVersion: byoc-access/v1
vendor: T
name: t
policies:
  - name: Huge
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Resource: "*"
          Action:
`+strings.Join(actions, "\n")+`
roles:
  - name: R
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "111122223333"}]
    policies: [{policy: Huge}]
`)
	_, err := spec.Resolve(target(), nil)
	require.ErrorContains(t, err, "policies[0] (Huge)")
	require.ErrorContains(t, err, "a managed policy may have at most 6144")
}

func TestTrustPolicyRefusesWildcardPrincipal(t *testing.T) {
	spec, err := vendors.LoadFile("testdata/wildcard-principal.yaml")
	require.NoError(t, err)
	_, err = spec.Resolve(target(), nil)
	require.ErrorContains(t, err, `AWS principal "*" would let anyone assume the role`)
}

func TestBadAccountID(t *testing.T) {
	spec, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	_, err = spec.Resolve(vendors.Target{AccountID: "12345"}, nil)
	require.ErrorContains(t, err, "exactly 12 digits")
}

func TestKMSLookupOnlyWhenNeeded(t *testing.T) {
	spec, err := vendors.Preset("streamnative")
	require.NoError(t, err)
	tg := target()
	tg.LookupKMSKeyARN = nil
	_, err = spec.Resolve(tg, nil)
	require.ErrorContains(t, err, "the KMS key alias/aws/ebs must be looked up", "defaults need a lookup")
	_, err = spec.Resolve(tg, map[string]any{
		"ebs_kms_key_arns": []any{"arn:aws:kms:us-east-1:123456789012:key/ebs"},
		"s3_kms_key_arns":  []any{"arn:aws:kms:us-east-1:123456789012:key/s3"},
	})
	require.NoError(t, err, "explicit key ARNs need no lookup")
}

// The account ID and tag rules are internal/validate's: Resolve's errors carry its typed error
// (so callers tell a bad value from other failures with errors.As) under text that still names
// the field or parameter and the fix.
func TestAccountIDAndTagErrorsAreValidateErrors(t *testing.T) {
	spec := loadInline(t, `
apiVersion: byoc-access/v1
vendor: T
name: t
tagsParam: tags
parameters:
  - {name: vendor_account, type: string, default: "111122223333", format: awsAccountId}
  - {name: tags, type: map}
roles:
  - name: r
    trust:
      - actions: [sts:AssumeRole]
        principals:
          - {type: AWS, identifiers: "arn:aws:iam::${vendor_account}:root"}
`)
	tests := []struct {
		name     string
		target   vendors.Target
		params   map[string]any
		wantRule string
		wantText string
	}{
		{"target account", vendors.Target{AccountID: "12345"}, nil, "account ID",
			`account ID "12345": an AWS account ID is exactly 12 digits`},
		{"empty target account", vendors.Target{}, nil, "account ID",
			`account ID "": an AWS account ID is exactly 12 digits`},
		{"awsAccountId parameter", target(), map[string]any{"vendor_account": "4646"}, "account ID",
			`vendor t: parameter "vendor_account": "4646": an AWS account ID is exactly 12 digits`},
		{"reserved tag key", target(), map[string]any{"tags": "aws:owner=x"}, "tag key",
			`vendor t: tags: tag key "aws:owner": the aws: prefix is reserved by AWS`},
		{"long tag value", target(), map[string]any{"tags": map[string]any{"k": strings.Repeat("v", 257)}}, "tag value",
			"a tag value is at most 256 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := spec.Resolve(tt.target, tt.params)
			var ve *validate.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantRule, ve.Rule)
			require.ErrorContains(t, err, tt.wantText)
		})
	}
}
