package vendors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
)

const acct = "123456789012"

func target() vendors.Target {
	return vendors.Target{AccountID: acct, Region: "us-east-1", LookupKMSKeyARN: func(id string) (string, error) {
		return "arn:aws:kms:us-east-1:" + acct + ":key/" + strings.ReplaceAll(id, "/", "-"), nil
	}}
}

func TestPresetsLoad(t *testing.T) {
	require.Equal(t, []string{"databricks", "databricks-unity-catalog", "datadog", "streamkap", "streamnative"}, vendors.PresetNames())
	// Required parameters have no default by definition; everything else keeps its default.
	required := map[string]map[string]any{
		"databricks":               {"external_id": "0b3f6a1e-9c2d-4e5f-8a7b-6c5d4e3f2a1b"},
		"databricks-unity-catalog": {"external_id": "0b3f6a1e-9c2d-4e5f-8a7b-6c5d4e3f2a1b", "bucket_name": "acme-lake"},
		"datadog":                  {"external_id": "2a7c3e9f0b1d4c6e8f5a7b9c1d3e5f70"},
	}
	for _, n := range vendors.PresetNames() {
		s, err := vendors.Preset(n)
		require.NoError(t, err)
		require.Equal(t, n, s.Name)
		require.NotEmpty(t, s.Version, "preset %s says which vendor version it reproduces", n)
		require.NotEmpty(t, s.Source, "preset %s says where the vendor publishes it", n)
		for _, p := range s.Parameters {
			if p.Required {
				require.Contains(t, required[n], p.Name, "preset %s: give the test a value for required parameter %s", n, p.Name)
			}
		}
		_, err = s.Resolve(target(), required[n])
		require.NoError(t, err, "preset %s resolves with its defaults", n)
	}
}

func TestSpecFileErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"malformed.yaml", []string{"testdata/malformed.yaml:", "YAML"}},
		{"schema-error.yaml", []string{"testdata/schema-error.yaml:6:", "roles[0].maxSessionDuration", "43200"}},
		{"long-role-name.yaml", []string{"testdata/long-role-name.yaml:5:", "roles[0].name", "at most 64"}},
		{"unknown-variable.yaml", []string{"testdata/unknown-variable.yaml:5:", "roles[0].name", "unknown variable ${acount_id}"}},
		{"duplicate-policy.yaml", []string{"testdata/duplicate-policy.yaml:7:", "policies[1].name", "declared twice"}},
		{"unknown-policy-ref.yaml", []string{"testdata/unknown-policy-ref.yaml:12:", "roles[0].policies[0].policy", `"AcmeWrite" is neither a policy id`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := vendors.LoadFile(filepath.Join("testdata", tt.file))
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestUnknownVendor(t *testing.T) {
	_, err := vendors.Preset("confluent")
	require.ErrorContains(t, err, `unknown vendor "confluent"`)
	require.ErrorContains(t, err, "streamkap, streamnative")
	_, err = vendors.Select("", "")
	require.ErrorContains(t, err, "no vendor")
	_, err = vendors.Select("streamkap", "x.yaml")
	require.ErrorContains(t, err, "choose one")
}

func TestParameters(t *testing.T) {
	spec, err := vendors.LoadFile("testdata/minimal.yaml")
	require.NoError(t, err)
	long := strings.Repeat("a", 1225)
	tests := []struct {
		name    string
		params  map[string]any
		wantErr []string
	}{
		{"ok", map[string]any{"external_id": "tenant-42"}, nil},
		{"missing required", map[string]any{}, []string{`parameter "external_id"`, "is required", "Your Acme tenant ID", "--param external_id="}},
		{"external id too short", map[string]any{"external_id": "a"}, []string{`"external_id"`, "2 to 1224 characters", "got 1"}},
		{"external id too long", map[string]any{"external_id": long}, []string{"2 to 1224 characters", "got 1225"}},
		{"external id charset", map[string]any{"external_id": "bad id!"}, []string{"may contain only letters, digits and +=,.@:/-_"}},
		{"unknown parameter", map[string]any{"external_id": "tenant-42", "externalid": "x"}, []string{`parameter "externalid"`, "unknown parameter", "external_id, role_name"}},
		{"role name over 64", map[string]any{"external_id": "tenant-42", "role_name": strings.Repeat("R", 65)}, []string{"roles[0]", "65 characters", "at most 64"}},
		{"role name charset", map[string]any{"external_id": "tenant-42", "role_name": "Acme Access"}, []string{"roles[0]", "may contain only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := spec.Resolve(target(), tt.params)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Len(t, g.Roles, 1)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParamCoercion(t *testing.T) {
	spec, err := vendors.Preset("streamnative")
	require.NoError(t, err)
	params, err := spec.ResolveParams(map[string]any{
		"create_bootstrap_role":   "false",
		"vpc_allowed_ids":         "vpc-1, vpc-2",
		"hosted_zone_allowed_ids": `["Z1"]`,
		"tags":                    "team=data,env=prod",
	})
	require.NoError(t, err)
	require.Equal(t, false, params["create_bootstrap_role"])
	require.Equal(t, []any{"vpc-1", "vpc-2"}, params["vpc_allowed_ids"])
	require.Equal(t, []any{"Z1"}, params["hosted_zone_allowed_ids"])
	require.Equal(t, map[string]any{"team": "data", "env": "prod"}, params["tags"])

	_, err = spec.ResolveParams(map[string]any{"create_bootstrap_role": "maybe"})
	require.ErrorContains(t, err, `"create_bootstrap_role": want true or false, got "maybe"`)
	_, err = spec.ResolveParams(map[string]any{"streamnative_vendor_access_role_arns": "not-an-arn"})
	require.ErrorContains(t, err, "is not an ARN")
}

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

func loadInline(t *testing.T, src string) *vendors.VendorSpec {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	s, err := vendors.LoadFile(path)
	require.NoError(t, err)
	return s
}

// TestCheckParams: values that come per account later may be missing although required, but
// every value given is still checked, and a later name must be a parameter.
func TestCheckParams(t *testing.T) {
	spec, err := vendors.LoadFile("testdata/minimal.yaml")
	require.NoError(t, err)
	require.NoError(t, spec.CheckParams(map[string]any{}, []string{"external_id"}))
	err = spec.CheckParams(map[string]any{}, nil)
	require.ErrorContains(t, err, "is required")
	err = spec.CheckParams(map[string]any{"external_id": "bad id!"}, []string{"external_id"})
	require.ErrorContains(t, err, "may contain only")
	err = spec.CheckParams(map[string]any{"externalid": "x"}, []string{"external_id"})
	require.ErrorContains(t, err, "unknown parameter")
	err = spec.CheckParams(map[string]any{}, []string{"externalid"})
	require.ErrorContains(t, err, `parameter "externalid": unknown parameter`)
}
