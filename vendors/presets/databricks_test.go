package presets

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/vendors"
)

const (
	dbxAnchor  = "anchors/databricks-aws-crossaccount/"
	dbxPolicy  = "databricks-crossaccount-iam-policy"
	dbxRole    = "databricks-crossaccount-iam-role"
	dbxAccount = "0b3f6a1e-9c2d-4e5f-8a7b-6c5d4e3f2a1b" // a Databricks account ID is a UUID
)

// providerPolicy and providerStatement are the provider's awsIamPolicy types
// (aws/data_aws_assume_role_policy.go), field for field and in the same order, so a document
// marshalled through them with json.MarshalIndent is the exact text the provider produces.
type providerPolicy struct {
	Version    string               `json:"Version,omitempty"`
	ID         string               `json:"Id,omitempty"`
	Statements []*providerStatement `json:"Statement"`
}

type providerStatement struct {
	Sid          string                       `json:"Sid,omitempty"`
	Effect       string                       `json:"Effect,omitempty"`
	Actions      any                          `json:"Action,omitempty"`
	NotActions   any                          `json:"NotAction,omitempty"`
	Resources    any                          `json:"Resource,omitempty"`
	NotResources any                          `json:"NotResource,omitempty"`
	Principal    map[string]string            `json:"Principal,omitempty"`
	Condition    map[string]map[string]string `json:"Condition,omitempty"`
}

// providerText prints a rendered document the way the provider prints its own. Keys the
// provider's types have no field for would be dropped, so their absence is checked first.
func providerText(t *testing.T, doc any) string {
	t.Helper()
	known := map[string]bool{"Sid": true, "Effect": true, "Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Principal": true, "Condition": true}
	for _, st := range iamstate.Statements(doc) {
		for k := range st {
			require.True(t, known[k], "statement key %s is one the provider writes", k)
		}
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	var p providerPolicy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	out, err := json.MarshalIndent(p, "", "  ")
	require.NoError(t, err)
	return string(out)
}

func derived(t *testing.T, name string) string {
	t.Helper()
	// SOURCE.txt: the only change to the test strings is one trailing newline.
	return strings.TrimSuffix(readShared(t, dbxAnchor+"derived/"+name+".json"), "\n")
}

// The provider's unit tests assert the crossaccount policy text exactly (assert.Equal on the
// JSON string): so does this test, statement order, action order and list-or-string included.
func TestDatabricksCrossAccountPolicyMatchesProvider(t *testing.T) {
	restricted := map[string]any{"policy_type": "restricted", "aws_account_id": "123456789012", "vpc_id": "vpc-abcdefg12345", "region": "us-west-2", "security_group_id": "sg-12345678"}
	tests := []struct {
		derived string
		params  map[string]any
	}{
		{"TestDataAwsCrossAccountManagedPolicyRoles", map[string]any{"policy_type": "managed"}},
		{"TestDataAwsCrossAccountManagedPolicyRoles", nil}, // managed is the default
		{"TestDataAwsCrossAccountCustomerManagedPolicyRoles", map[string]any{"policy_type": "customer"}},
		{"TestDataAwsCrossAccountRestrictedPolicyRoles", restricted},
	}
	for _, tt := range tests {
		t.Run(tt.derived, func(t *testing.T) {
			params := map[string]any{"external_id": dbxAccount}
			for k, v := range tt.params {
				params[k] = v
			}
			got := renderPreset(t, "databricks", account, "", params)
			require.Len(t, got.Policies, 1)
			p, ok := got.Policies[dbxPolicy]
			require.True(t, ok)
			require.Equal(t, derived(t, tt.derived), providerText(t, p.Document))
			require.Equal(t, mustJSON(t, derived(t, tt.derived)), p.Document, "the same as parsed JSON")
		})
	}

	// aws_account_id defaults to the account deployed into.
	delete(restricted, "aws_account_id")
	restricted["external_id"] = dbxAccount
	got := renderPreset(t, "databricks", "123456789012", "", restricted)
	require.Equal(t, derived(t, "TestDataAwsCrossAccountRestrictedPolicyRoles"), providerText(t, got.Policies[dbxPolicy].Document))
}

// Tests the provider asserts by length only (assert.Lenf on the JSON text).
func TestDatabricksCrossAccountPolicyLengths(t *testing.T) {
	passRoles := []any{"arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b", "arn:aws:iam::123456789012:role/c"}
	// The provider's test passes "a", "b" and "c"; the preset takes ARNs only, each this much longer.
	passRolesExtra := 0
	for _, r := range passRoles {
		passRolesExtra += len(r.(string)) - 1
	}
	restricted := func(partition string, region string) map[string]any {
		p := map[string]any{"policy_type": "restricted", "aws_account_id": "123456789012", "vpc_id": "vpc-12345678", "region": region, "security_group_id": "sg-12345678"}
		if partition != "" {
			p["aws_partition"] = partition
		}
		return p
	}
	tests := []struct {
		name      string
		partition string
		params    map[string]any
		length    int
	}{
		{"TestDataAwsCrossAccountDatabricksManagedPolicy", "", nil, 3171},
		{"TestDataAwsCrossAccountCustomerManagedPolicy", "", map[string]any{"policy_type": "customer"}, 2328},
		{"TestDataAwsCrossAccountPolicy_WithPassRoles", "", map[string]any{"pass_roles": passRoles}, 3307 + passRolesExtra},
		{"TestDataAwsCrossAccountRestrictedPolicy", "", restricted("", "us-west-2"), 5725},
		{"TestDataAwsCrossAccountRestrictedPolicyPartitionGov", "aws-us-gov", restricted("aws-us-gov", "us-gov-west-1"), 5963},
		{"TestDataAwsCrossAccountRestrictedPolicyPartitionGovDoD", "aws-us-gov", restricted("aws-us-gov-dod", "us-gov-west-1"), 5963},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{"external_id": dbxAccount}
			for k, v := range tt.params {
				params[k] = v
			}
			got := renderPreset(t, "databricks", account, tt.partition, params)
			text := providerText(t, got.Policies[dbxPolicy].Document)
			require.Len(t, text, tt.length, "%s", text)
		})
	}

	// The pass role statement is the third, after the two every policy type has.
	got := renderPreset(t, "databricks", account, "", map[string]any{"external_id": dbxAccount, "pass_roles": passRoles})
	managed := mustJSON(t, derived(t, "TestDataAwsCrossAccountManagedPolicyRoles")).(map[string]any)
	managed["Statement"] = append(managed["Statement"].([]any), map[string]any{"Effect": "Allow", "Action": "iam:PassRole", "Resource": passRoles})
	require.Equal(t, managed, got.Policies[dbxPolicy].Document)
}

// The trust policy (databricks_aws_assume_role_policy), as its Go source builds it; the
// provider's tests assert its length for external_id "abc".
func TestDatabricksAssumeRolePolicyMatchesProvider(t *testing.T) {
	tests := []struct {
		name         string
		partition    string
		awsPartition string
		principal    string
		length       int
	}{
		{"TestDataAwsAssumeRolePolicy", "", "", "arn:aws:iam::414351767826:root", 299},
		{"TestDataAwsAssumeRolePolicy (aws_partition = aws)", "", "aws", "arn:aws:iam::414351767826:root", 299},
		{"TestDataAwsAssumeRolePolicyGov", "aws-us-gov", "aws-us-gov", "arn:aws-us-gov:iam::044793339203:root", 306},
		{"TestDataAwsAssumeRolePolicyGov (partition deployed into)", "aws-us-gov", "", "arn:aws-us-gov:iam::044793339203:root", 306},
		{"TestDataAwsAssumeRolePolicyGovDoD", "aws-us-gov", "aws-us-gov-dod", "arn:aws-us-gov:iam::170661010020:root", 306},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{"external_id": "abc"}
			if tt.awsPartition != "" {
				params["aws_partition"] = tt.awsPartition
			}
			got := renderPreset(t, "databricks", account, tt.partition, params)
			require.Len(t, got.Roles, 1)
			role := got.Roles[dbxRole]
			want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Principal": {
        "AWS": "` + tt.principal + `"
      },
      "Condition": {
        "StringEquals": {
          "sts:ExternalId": "abc"
        }
      }
    }
  ]
}`
			text := providerText(t, role.TrustPolicy)
			require.Equal(t, want, text)
			require.Len(t, text, tt.length)

			// The role and its attachment, as in the provider's documented example.
			require.Equal(t, "/", role.Path)
			require.Equal(t, "Grants Databricks full access to VPC resources", role.Description)
			require.Equal(t, []string{"arn:" + firstNonEmpty(tt.partition, "aws") + ":iam::" + account + ":policy/" + dbxPolicy}, role.AttachedPolicies)
			require.Empty(t, role.InlinePolicies)
			require.Nil(t, role.PermissionsBoundary)
		})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestDatabricksParameterErrors(t *testing.T) {
	spec, err := vendors.Preset("databricks")
	require.NoError(t, err)
	restricted := func(drop string, set ...string) map[string]any {
		p := map[string]any{"external_id": dbxAccount, "policy_type": "restricted", "aws_account_id": "123456789012", "vpc_id": "vpc-12345678", "region": "us-west-2", "security_group_id": "sg-12345678"}
		delete(p, drop)
		for i := 0; i+1 < len(set); i += 2 {
			p[set[i]] = set[i+1]
		}
		return p
	}
	// The provider's negative tests, and what the preset says instead.
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"TestDataAwsCrossAccountInvalidPolicy", map[string]any{"external_id": dbxAccount, "policy_type": "something"}, `parameter "policy_type": "something" is not one of managed, customer, restricted`},
		{"TestDataAwsCrossAccountInvalidAccountId", restricted("", "aws_account_id", "12345678901212"), `parameter "aws_account_id": "12345678901212": an AWS account ID is exactly 12 digits`},
		{"TestDataAwsCrossAccountInvalidPartition", map[string]any{"external_id": dbxAccount, "aws_partition": "something"}, `parameter "aws_partition": "something" is not one of aws, aws-us-gov, aws-us-gov-dod`},
		{"TestDataAwsCrossAccountInvalidVpcId", restricted("", "vpc_id", "2345678"), `parameter "vpc_id": "2345678" does not match ^vpc-.*$`},
		{"TestDataAwsCrossAccountMissingRegion", restricted("region"), `parameter "region": is required when policy_type_restricted holds`},
		{"missing VPC ID", restricted("vpc_id"), `parameter "vpc_id": is required when policy_type_restricted holds`},
		{"TestDataAwsCrossAccountInvalidSgGroup", restricted("", "security_group_id", "12345678"), `parameter "security_group_id": "12345678" does not match ^sg-.*$`},
		{"external ID is required", map[string]any{}, `parameter "external_id": is required`},
		{"pass roles are ARNs", map[string]any{"external_id": dbxAccount, "pass_roles": "a"}, `parameter "pass_roles": "a" is not an ARN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Render(spec, render.Options{AccountID: account, Params: tt.params})
			require.ErrorContains(t, err, tt.want)
		})
	}

	// A partition Databricks does not serve is named with the ones it does.
	_, err = render.Render(spec, render.Options{AccountID: account, Partition: "aws-cn", Params: map[string]any{"external_id": dbxAccount}})
	require.ErrorContains(t, err, `lookup: no entry for "aws-cn"; the known values are aws, aws-us-gov, aws-us-gov-dod`)
}

const (
	ucPolicy  = "databricks-unity-catalog-metastore-access-iam-policy"
	ucAccount = "123456789098"
)

// The Unity Catalog documents, compared as the provider's own tests compare them: both parsed
// as JSON and deeply equal, which keeps statement order, action order and list-or-string.
func TestDatabricksUnityCatalogMatchesProvider(t *testing.T) {
	base := func(kv ...string) map[string]any {
		p := map[string]any{"role_name": "databricks-role", "bucket_name": "databricks-bucket", "external_id": "12345"}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i]] = kv[i+1]
		}
		return p
	}
	tests := []struct {
		policy    string
		trust     string
		partition string
		params    map[string]any
	}{
		{"TestDataAwsUnityCatalogPolicy", "TestDataAwsUnityCatalogAssumeRolePolicy", "",
			base("bucket_name", "databricks-bucket.2", "kms_name", "databricks-kms", "unity_catalog_iam_arn", "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL")},
		{"TestDataAwsUnityCatalogPolicyFullKms", "TestDataAwsUnityCatalogAssumeRolePolicyWithoutUcArn", "",
			base("kms_name", "arn:aws:kms:us-west-2:111122223333:key/databricks-kms")},
		{"TestDataAwsUnityCatalogPolicyWithoutKMS", "TestDataAwsUnityCatalogAssumeRolePolicyWithoutUcArn", "", base()},
		{"TestDataAwsUnityCatalogPolicyPartionGov", "TestDataAwsUnityCatalogAssumeRolePolicyGovWithoutUcArn", "aws-us-gov",
			base("aws_partition", "aws-us-gov", "kms_name", "databricks-kms")},
		{"TestDataAwsUnityCatalogPolicyPartionGov", "TestDataAwsUnityCatalogAssumeRolePolicyGovWithoutUcArn", "aws-us-gov",
			base("kms_name", "databricks-kms")}, // aws_partition defaults to the partition deployed into
		{"TestDataAwsUnityCatalogPolicyPartionGovDoD", "TestDataAwsUnityCatalogAssumeRolePolicyGovDoDWithoutUcArn", "aws-us-gov",
			base("aws_partition", "aws-us-gov-dod", "kms_name", "databricks-kms")},
	}
	for _, tt := range tests {
		t.Run(tt.policy+"+"+tt.trust, func(t *testing.T) {
			got := renderPreset(t, "databricks-unity-catalog", ucAccount, tt.partition, tt.params)
			require.Len(t, got.Policies, 1)
			p, ok := got.Policies[ucPolicy]
			require.True(t, ok)
			require.Equal(t, "/", p.Path)
			require.Equal(t, mustJSON(t, derived(t, tt.policy)), p.Document, "policy")

			require.Len(t, got.Roles, 1)
			role, ok := got.Roles["databricks-role"]
			require.True(t, ok, "the role is named role_name, the name its self-assume statement pins")
			require.Equal(t, "/", role.Path)
			require.Equal(t, mustJSON(t, derived(t, tt.trust)), role.TrustPolicy, "trust")
			require.Equal(t, []string{"arn:" + firstNonEmpty(tt.partition, "aws") + ":iam::" + ucAccount + ":policy/" + ucPolicy}, role.AttachedPolicies)
			require.Nil(t, role.PermissionsBoundary)
		})
	}
}

func TestDatabricksUnityCatalogCounts(t *testing.T) {
	// SOURCE.txt: 6 statements and 37 actions with KMS; 5 and 34 without.
	for _, tt := range []struct {
		kms        string
		statements int
		actions    int
	}{{"", 5, 34}, {"arn:aws:kms:us-east-1:123456789098:key/k", 6, 37}} {
		got := renderPreset(t, "databricks-unity-catalog", ucAccount, "", map[string]any{"bucket_name": "lake", "external_id": "12345", "kms_name": tt.kms})
		doc := got.Policies[ucPolicy].Document
		var actions []string
		for _, st := range iamstate.Statements(doc) {
			actions = append(actions, iamstate.Strings(st["Action"])...)
		}
		sort.Strings(actions)
		require.Len(t, iamstate.Statements(doc), tt.statements)
		require.Len(t, actions, tt.actions)
	}
}

func TestDatabricksUnityCatalogParameterErrors(t *testing.T) {
	spec, err := vendors.Preset("databricks-unity-catalog")
	require.NoError(t, err)
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"TestDataAwsUnityCatalogPolicy_BucketNameInvalid", map[string]any{"external_id": "12345", "bucket_name": "-databricks-bucket"}, `parameter "bucket_name": "-databricks-bucket" does not match`},
		{"bucket is required", map[string]any{"external_id": "12345"}, `parameter "bucket_name": is required`},
		{"external ID is required", map[string]any{"bucket_name": "lake"}, `parameter "external_id": is required`},
		{"invalid partition", map[string]any{"external_id": "12345", "bucket_name": "lake", "aws_partition": "something"}, `parameter "aws_partition": "something" is not one of aws, aws-us-gov, aws-us-gov-dod`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Render(spec, render.Options{AccountID: ucAccount, Params: tt.params})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
