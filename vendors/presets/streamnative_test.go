package presets

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	anchor      = "anchors/streamnative-vendor-access-v3.25.0/"
	ebsKey      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	s3Key       = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
	externalID  = "o-abcde"
	snPartition = "aws"
)

// fillTemplate does what Terraform's templatefile does with the module's variables, filled as
// FACTS.md says for the module defaults.
func fillTemplate(tpl string) string {
	quoted := func(list ...string) string {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = fmt.Sprintf("%q", s)
		}
		return strings.Join(q, ", ")
	}
	vars := map[string]string{
		"partition":       snPartition,
		"account_id":      account,
		"region":          "*",
		"cluster_pattern": "*snc*",
		"bucket_pattern":  "*snc*",
		"vpc_ids":         "[" + quoted("arn:aws:ec2:*:"+account+":vpc/*") + "]",
		"r53_zone_arns":   "[" + quoted("arn:aws:route53:::hostedzone/*") + "]",
		"kms_arns":        quoted(ebsKey, s3Key),
		"allowed_iam_policies": quoted(
			"arn:aws:iam::"+account+":policy/StreamNative/*",
			"arn:aws:iam::aws:policy/AmazonEKS*",
			"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
			"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
			"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
		),
	}
	const escaped = "\x00DOLLAR_BRACE\x00"
	out := strings.ReplaceAll(tpl, "$${", escaped)
	for k, v := range vars {
		out = strings.ReplaceAll(out, "${"+k+"}", v)
	}
	return strings.ReplaceAll(out, escaped, "${")
}

func TestStreamNativeMatchesModuleData(t *testing.T) {
	readShared(t, anchor+"FACTS.md")
	got := renderPreset(t, "streamnative", account, "", map[string]any{
		"external_id":      externalID,
		"ebs_kms_key_arns": []any{ebsKey},
		"s3_kms_key_arns":  []any{s3Key},
	})

	files := map[string]string{
		"StreamNativeCloudPermissionBoundary":      "permission_boundary_iam_policy.json.tpl",
		"StreamNativeCloudProvisionPreservePolicy": "provision_preserve.json.tpl",
		"StreamNativeCloudProvision1Policy":        "provision1.json.tpl",
		"StreamNativeCloudProvision2Policy":        "provision2.json.tpl",
		"StreamNativeCloudManagementPolicy":        "management_role_iam_policy.json.tpl",
		"StreamNativeCloudRuntimePolicy":           "runtime_iam_policy.json.tpl",
		"StreamNativeCloudLBPolicy":                "aws_lb_controller_iam_policy.json.tpl",
	}
	require.Len(t, got.Policies, len(files), "the module creates exactly these policies")
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			p, ok := got.Policies[name]
			require.True(t, ok, "policy %s is created", name)
			want := mustJSON(t, fillTemplate(readShared(t, anchor+file)))
			require.Equal(t, normalizeDoc(t, want), normalizeDoc(t, p.Document), "statement for statement")
			require.Equal(t, "/StreamNative/", p.Path)
			require.Equal(t, map[string]string{"Vendor": "StreamNative", "SNVersion": "3.25.0"}, p.Tags)
		})
	}

	boundary := "arn:aws:iam::" + account + ":policy/StreamNative/StreamNativeCloudPermissionBoundary"
	pol := func(n string) string { return "arn:aws:iam::" + account + ":policy/StreamNative/" + n }
	roles := map[string][]string{
		"StreamNativeCloudBootstrapRole": {pol("StreamNativeCloudProvision1Policy"), pol("StreamNativeCloudProvision2Policy"),
			pol("StreamNativeCloudProvisionPreservePolicy"), "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"StreamNativeCloudManagementRole": {pol("StreamNativeCloudManagementPolicy"), "arn:aws:iam::aws:policy/ReadOnlyAccess"},
	}
	require.Len(t, got.Roles, 2)
	for name, attached := range roles {
		r, ok := got.Roles[name]
		require.True(t, ok, "role %s", name)
		require.Equal(t, "/StreamNative/", r.Path)
		require.Equal(t, 43200, r.MaxSessionDuration)
		require.NotNil(t, r.PermissionsBoundary)
		require.Equal(t, boundary, *r.PermissionsBoundary)
		require.Equal(t, attached, r.AttachedPolicies)
		require.Equal(t, map[string]string{"Vendor": "StreamNative", "SNVersion": "3.25.0"}, r.Tags)
	}

	// Trust policies as FACTS.md describes them.
	ext := `"Condition": {"StringEquals": {"sts:ExternalId": "o-abcde"}}`
	vendorAccess := `{"Sid": "AllowStreamNativeVendorAccess", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": {"AWS": "arn:aws:iam::311022431024:role/cloud-manager"}, ` + ext + `}`
	engineer := `{"Sid": "AllowStreamNativeEngineerAccess", "Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": {"AWS": "arn:aws:iam::311022431024:role/cloud-support-general"}, ` + ext + `}`
	controlPlane := `{"Sid": "AllowStreamNativeControlPlaneAccess", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": {"Federated": "accounts.google.com"},
		"Condition": {"StringEquals": {"accounts.google.com:aud": "108050666045451143798"}}}`
	doc := func(stmts ...string) any {
		return mustJSON(t, `{"Version": "2012-10-17", "Statement": [`+strings.Join(stmts, ",")+`]}`)
	}
	require.Equal(t, normalizeDoc(t, doc(vendorAccess, engineer, controlPlane)), normalizeDoc(t, got.Roles["StreamNativeCloudBootstrapRole"].TrustPolicy))
	require.Equal(t, normalizeDoc(t, doc(vendorAccess, controlPlane)), normalizeDoc(t, got.Roles["StreamNativeCloudManagementRole"].TrustPolicy))
}

func TestStreamNativeDefaultKMSKeysAreLookedUp(t *testing.T) {
	readShared(t, anchor+"FACTS.md")
	got := renderPreset(t, "streamnative", account, "", map[string]any{"external_id": externalID})
	doc := got.Policies["StreamNativeCloudRuntimePolicy"].Document
	text := fmt.Sprint(doc)
	require.Contains(t, text, "key/LOOKUP(alias/aws/ebs)", "the EBS default key is the account's alias/aws/ebs, looked up at deploy time")
	require.Contains(t, text, "key/LOOKUP(alias/aws/s3)")
}
