package main

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/iamstate/render"
)

var update = flag.Bool("update", false, "rewrite schema.json from the provider")

const account = "123456789012"

func server(t *testing.T, mocks *render.Mocks) integration.Server {
	t.Helper()
	prov, err := New()
	require.NoError(t, err)
	s, err := integration.NewServer(t.Context(), Name, semver.MustParse(Version),
		integration.WithProvider(prov), integration.WithMocks(mocks))
	require.NoError(t, err)
	return s
}

func TestSchemaGolden(t *testing.T) {
	resp, err := server(t, render.NewMocks(account, "", "")).GetSchema(p.GetSchemaRequest{})
	require.NoError(t, err)
	var pretty map[string]any
	require.NoError(t, json.Unmarshal([]byte(resp.Schema), &pretty))
	got, err := json.MarshalIndent(pretty, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile("schema.json", got, 0o644))
	}
	want, err := os.ReadFile("schema.json")
	require.NoError(t, err, "run `go test -run TestSchemaGolden -update` in provider/ to create it")
	require.Equal(t, string(want), string(got), "the published schema changed: review, then run `go test -run TestSchemaGolden -update`")

	res := pretty["resources"].(map[string]any)[components.VendorAccessType].(map[string]any)
	require.Equal(t, true, res["isComponent"])
	for _, out := range []string{"accountId", "roleArns", "policyArns", "boundaryArn", "externalId", "handoff"} {
		require.Contains(t, res["properties"], out)
	}
	for _, in := range []string{"vendor", "spec", "params", "accountId", "tags"} {
		prop := res["inputProperties"].(map[string]any)[in].(map[string]any)
		require.NotEmpty(t, prop["description"], "input %s is described", in)
	}
}

func construct(t *testing.T, inputs map[string]property.Value) (p.ConstructResponse, *render.Mocks, error) {
	t.Helper()
	mocks := render.NewMocks(account, "aws", "us-east-1")
	urn := resource.NewURN("dev", "consumer", "", tokens.Type(components.VendorAccessType), "vendor")
	resp, err := server(t, mocks).Construct(p.ConstructRequest{Urn: urn, Inputs: property.NewMap(inputs)})
	return resp, mocks, err
}

func TestConstructPresets(t *testing.T) {
	tests := []struct {
		name      string
		inputs    map[string]property.Value
		roles     int
		policies  int
		wantRoles map[string]string
	}{
		{
			name: "streamkap",
			inputs: map[string]property.Value{
				"vendor": property.New("streamkap"),
				"params": property.New(map[string]property.Value{"external_id": property.New("sk-tenant")}),
			},
			roles: 1, policies: 2,
			wantRoles: map[string]string{"StreamkapInstallAccess": "arn:aws:iam::" + account + ":role/StreamkapInstallAccess"},
		},
		{
			name: "streamnative with list parameter",
			inputs: map[string]property.Value{
				"vendor":    property.New("streamnative"),
				"accountId": property.New(account),
				"params": property.New(map[string]property.Value{
					"external_id":      property.New("o-abcde"),
					"ebs_kms_key_arns": property.New(`["arn:aws:kms:us-east-1:123456789012:key/ebs"]`),
					"s3_kms_key_arns":  property.New("arn:aws:kms:us-east-1:123456789012:key/s3"),
				}),
			},
			roles: 2, policies: 7,
		},
		{
			name: "custom spec",
			inputs: map[string]property.Value{
				"spec": property.New(`apiVersion: byoc-access/v1
vendor: Acme
name: acme
roles:
  - name: AcmeAccess
    trust:
      - actions: [sts:AssumeRole]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]
    policies: [{policy: "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
`),
			},
			roles: 1, policies: 0,
			wantRoles: map[string]string{"AcmeAccess": "arn:aws:iam::" + account + ":role/AcmeAccess"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, mocks, err := construct(t, tt.inputs)
			require.NoError(t, err)
			require.Len(t, mocks.ByType("aws:iam/role:Role"), tt.roles)
			require.Len(t, mocks.ByType("aws:iam/policy:Policy"), tt.policies)
			require.Equal(t, components.VendorAccessType, string(resp.Urn.Type()))
			state := resp.State.AsMap()
			require.Equal(t, account, state["accountId"].AsString())
			roles := state["roleArns"].AsMap().AsMap()
			require.Len(t, roles, tt.roles)
			for name, arn := range tt.wantRoles {
				require.Equal(t, arn, roles[name].AsString())
			}
			require.Contains(t, state, "handoff")
		})
	}
}

func TestConstructBadInput(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]property.Value
		want   string
	}{
		{"unknown vendor", map[string]property.Value{"vendor": property.New("confluent")}, `unknown vendor "confluent"`},
		{"bad external id", map[string]property.Value{"vendor": property.New("streamnative"),
			"params": property.New(map[string]property.Value{"external_id": property.New("x")})}, "2 to 1224 characters"},
		{"both vendor and spec", map[string]property.Value{"vendor": property.New("streamkap"), "spec": property.New("x: y")}, "choose one"},
		{"bad spec", map[string]property.Value{"spec": property.New("apiVersion: byoc-access/v1\nvendor: [")}, "spec:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mocks, err := construct(t, tt.inputs)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, mocks.ByType("aws:iam/role:Role"))
		})
	}
}
