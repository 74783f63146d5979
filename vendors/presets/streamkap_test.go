package presets

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/vendors"
)

// seedJSONDocs returns the JSON documents in the seed text, in order: the provision policy,
// the deprovision policy and the trust policy.
func seedJSONDocs(t *testing.T, seed string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	rest := seed
	for {
		i := strings.Index(rest, "{\n  \"Version\"")
		if i < 0 {
			break
		}
		dec := json.NewDecoder(strings.NewReader(rest[i:]))
		var doc map[string]any
		require.NoError(t, dec.Decode(&doc))
		docs = append(docs, doc)
		rest = rest[i+int(dec.InputOffset()):]
	}
	require.Len(t, docs, 3, "the seed publishes two policies and a trust policy as JSON")
	return docs
}

// seedCFN returns the seed's CloudFormation template, with !Ref made plain YAML.
func seedCFN(t *testing.T, seed string) map[string]any {
	t.Helper()
	i := strings.Index(seed, "AWSTemplateFormatVersion")
	require.Positive(t, i, "the seed has a CloudFormation template")
	src := strings.ReplaceAll(seed[i:], "!Ref ", "Ref:")
	var tpl map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(src), &tpl))
	return tpl
}

func actions(t *testing.T, doc any) []string {
	t.Helper()
	st := doc.(map[string]any)["Statement"].([]any)
	require.Len(t, st, 1)
	var out []string
	for _, a := range st[0].(map[string]any)["Action"].([]any) {
		out = append(out, a.(string))
	}
	sort.Strings(out)
	return out
}

func TestStreamkapMatchesSeed(t *testing.T) {
	seed := readShared(t, "seeds/streamkap-byoc-aws.txt")
	docs := seedJSONDocs(t, seed)
	cfn := seedCFN(t, seed)["Resources"].(map[string]any)

	spec, err := vendors.Preset("streamkap")
	require.NoError(t, err)
	got, err := render.Render(spec, render.Options{AccountID: account})
	require.NoError(t, err)

	require.Len(t, got.Policies, 2)
	require.Len(t, got.Roles, 1)
	for i, name := range []string{"StreamkapProvisionAccess", "StreamkapDeprovisionAccess"} {
		p, ok := got.Policies[name]
		require.True(t, ok, "policy %s", name)
		require.Equal(t, actions(t, docs[i]), actions(t, p.Document), "%s: actions equal the seed's JSON", name)
		cfnDoc := cfn[name+"Policy"].(map[string]any)["Properties"].(map[string]any)["PolicyDocument"]
		require.Equal(t, actions(t, cfnDoc), actions(t, p.Document), "%s: actions equal the seed's CloudFormation", name)
		require.Equal(t, normalizeDoc(t, docs[i]), normalizeDoc(t, p.Document), "%s: whole document", name)
		require.Equal(t, "/", p.Path)
	}

	role, ok := got.Roles["StreamkapInstallAccess"]
	require.True(t, ok)
	require.Equal(t, normalizeDoc(t, docs[2]), normalizeDoc(t, role.TrustPolicy), "trust policy equals the seed's, with no external ID by default")
	require.Equal(t, []string{
		"arn:aws:iam::" + account + ":policy/StreamkapDeprovisionAccess",
		"arn:aws:iam::" + account + ":policy/StreamkapProvisionAccess",
	}, role.AttachedPolicies)
	require.Nil(t, role.PermissionsBoundary)
	cfnRole := cfn["StreamkapInstallAccessRole"].(map[string]any)["Properties"].(map[string]any)
	require.Equal(t, "StreamkapInstallAccess", cfnRole["RoleName"])
	require.Len(t, cfnRole["ManagedPolicyArns"], 2)
}
