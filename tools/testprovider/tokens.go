package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// tokens maps the pulumi-aws tokens the program uses to the dynamically bridged provider's
// names for the same Terraform resources and data sources. The bridge names everything from
// the Terraform type (aws_iam_role: aws:index/iamRole:IamRole), while pulumi-aws curates module
// names (aws:iam/role:Role) and renames some functions (aws_kms_key: aws:kms/getKey:getKey), so
// no rule derives one from the other: the table is the contract, and it must list every
// Terraform type named in bridgeIncludes.
var tokens = map[string]string{
	"aws:iam/role:Role":                                 "aws:index/iamRole:IamRole",
	"aws:iam/policy:Policy":                             "aws:index/iamPolicy:IamPolicy",
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws:index/iamRolePolicyAttachment:IamRolePolicyAttachment",
	"aws:iam/rolePolicy:RolePolicy":                     "aws:index/iamRolePolicy:IamRolePolicy",
	"aws:index/getCallerIdentity:getCallerIdentity":     "aws:index/getCallerIdentity:getCallerIdentity",
	"aws:index/getPartition:getPartition":               "aws:index/getPartition:getPartition",
	"aws:kms/getKey:getKey":                             "aws:index/getKmsKey:getKmsKey",
	// The event queue of `rollout watch setup`.
	"aws:sqs/queue:Queue":                    "aws:index/sqsQueue:SqsQueue",
	"aws:sqs/queuePolicy:QueuePolicy":        "aws:index/sqsQueuePolicy:SqsQueuePolicy",
	"aws:cloudwatch/eventRule:EventRule":     "aws:index/cloudwatchEventRule:CloudwatchEventRule",
	"aws:cloudwatch/eventTarget:EventTarget": "aws:index/cloudwatchEventTarget:CloudwatchEventTarget",
}

// bridgeIncludes are the Terraform types the bridge loads. Loading only these keeps the
// schema load at seconds instead of over a minute.
var bridgeIncludes = []string{
	"aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_role_policy",
	"aws_caller_identity", "aws_partition", "aws_kms_key",
	"aws_sqs_queue", "aws_sqs_queue_policy", "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target",
}

var reverseTokens = func() map[string]string {
	out := make(map[string]string, len(tokens))
	for k, v := range tokens {
		out[v] = k
	}
	return out
}()

// bridgeToken is the bridged name of a pulumi-aws token; provider resource types
// (pulumi:providers:aws) and tokens of other packages pass unchanged.
func bridgeToken(tok string) (string, error) {
	if !strings.HasPrefix(tok, "aws:") {
		return tok, nil
	}
	if t, ok := tokens[tok]; ok {
		return t, nil
	}
	return "", fmt.Errorf("the byoc-access test provider serves only %s; %q is not among them "+
		"(add it to tools/testprovider/tokens.go and bridgeIncludes)", strings.Join(slices.Sorted(maps.Keys(tokens)), ", "), tok)
}

// bridgeURN rewrites the type part of a URN
// (urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME), every $-separated segment of it.
func bridgeURN(urn string) (string, error) {
	parts := strings.SplitN(urn, "::", 4)
	if len(parts) != 4 {
		return urn, nil
	}
	segs := strings.Split(parts[2], "$")
	for i, s := range segs {
		t, err := bridgeToken(s)
		if err != nil {
			return "", err
		}
		segs[i] = t
	}
	parts[2] = strings.Join(segs, "$")
	return strings.Join(parts, "::"), nil
}

// translateRequest returns a copy of a request message with its urn, type and tok fields in
// the bridge's names. Every provider request names its resource through these fields only.
func translateRequest[M proto.Message](m M) (M, error) {
	out := proto.Clone(m).(M)
	var firstErr error
	msg := out.ProtoReflect()
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.StringKind || fd.IsList() || fd.IsMap() {
			return true
		}
		var (
			t   string
			err error
		)
		switch fd.Name() {
		case "urn":
			t, err = bridgeURN(v.String())
		case "type", "tok":
			t, err = bridgeToken(v.String())
		default:
			return true
		}
		if err != nil {
			firstErr = err
			return false
		}
		msg.Set(fd, protoreflect.ValueOfString(t))
		return true
	})
	return out, firstErr
}

// Pulumi's wire form of a secret value inside a Struct.
const (
	sigKey    = "4dabf18193072939515e22adb298388d"
	secretSig = "1b47061264138c4ac30d75fd1eb44270"
)

func unwrapSecret(v *structpb.Value) (*structpb.Value, bool) {
	s := v.GetStructValue()
	if s == nil || s.Fields[sigKey].GetStringValue() != secretSig {
		return v, false
	}
	return s.Fields["value"], true
}

func wrapSecret(v *structpb.Value) *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		sigKey:  structpb.NewStringValue(secretSig),
		"value": v,
	}})
}

// assumeRolesValue turns pulumi-aws's assumeRole (an object, or the JSON text of one, as stack
// config delivers it, possibly secret) into the bridge's assumeRoles: a list of that object,
// with the secret mark kept on the list.
func assumeRolesValue(v *structpb.Value) (*structpb.Value, error) {
	inner, secret := unwrapSecret(v)
	obj := inner
	if text, ok := inner.GetKind().(*structpb.Value_StringValue); ok {
		var m map[string]any
		if err := json.Unmarshal([]byte(text.StringValue), &m); err != nil {
			return nil, fmt.Errorf("provider config assumeRole: want an object such as {\"roleArn\": ...}: %w", err)
		}
		var err error
		if obj, err = structpb.NewValue(m); err != nil {
			return nil, fmt.Errorf("provider config assumeRole: %w", err)
		}
	}
	list := structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{obj}})
	if secret {
		return wrapSecret(list), nil
	}
	return list, nil
}

// bridgeConfig rewrites provider inputs from pulumi-aws's shape to the bridge's. Inputs
// already in the bridge's shape pass unchanged.
func bridgeConfig(s *structpb.Struct) (*structpb.Struct, error) {
	if s == nil {
		return nil, nil
	}
	out := proto.Clone(s).(*structpb.Struct)
	if v, ok := out.Fields["assumeRole"]; ok {
		delete(out.Fields, "assumeRole")
		if _, isNull := v.GetKind().(*structpb.Value_NullValue); isNull {
			return out, nil
		}
		roles, err := assumeRolesValue(v)
		if err != nil {
			return nil, err
		}
		out.Fields["assumeRoles"] = roles
	}
	return out, nil
}

// bridgeConfigs rewrites each of a request's provider inputs in place.
func bridgeConfigs(inputs ...**structpb.Struct) error {
	for _, in := range inputs {
		out, err := bridgeConfig(*in)
		if err != nil {
			return err
		}
		*in = out
	}
	return nil
}

// bridgeVariables rewrites Configure's flat variables (aws:config:assumeRole, JSON text).
func bridgeVariables(vars map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		if k != "aws:config:assumeRole" {
			out[k] = v
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("provider config aws:assumeRole: want an object such as {\"roleArn\": ...}: %w", err)
		}
		b, err := json.Marshal([]any{m})
		if err != nil {
			return nil, err
		}
		out["aws:config:assumeRoles"] = string(b)
	}
	return out, nil
}
