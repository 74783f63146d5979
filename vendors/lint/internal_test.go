package lint

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscalationActionsExist(t *testing.T) {
	c := DefaultCatalog()
	for _, e := range escalation {
		require.Equal(t, []string{e.action}, c.Match(e.action), "the catalog spells %s the same way", e.action)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"describe*", "describeinstances", true},
		{"*instances", "describeinstances", true},
		{"d*i*s", "describeinstances", true},
		{"d?scribe", "describe", true},
		{"describe", "describeinstances", false},
		{"*x*", "describe", false},
		{"a*b*c", "abxbc", true},
		{"a*b", "abxbc", false},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Glob(tt.pattern, tt.s), "%q ~ %q", tt.pattern, tt.s)
	}
}

func TestIAMBreadth(t *testing.T) {
	tests := []struct {
		resource, kind string
		want           breadth
	}{
		{"*", "role", breadthAll},
		{"arn:aws:iam::000000000000:role/*", "role", breadthAll},
		{"arn:aws:iam::*:*", "role", breadthAll},
		{"arn:aws:iam::000000000000:*", "policy", breadthAll},
		{"arn:*:*:*:*:*", "role", breadthAll},
		{"arn:aws:iam::000000000000:role/StreamNative/*", "role", breadthPattern},
		{"arn:aws:iam::000000000000:role/*snc*", "role", breadthPattern},
		{"arn:aws:iam::000000000000:role/Vendor", "role", breadthNone},
		{"arn:aws:iam::000000000000:policy/*", "role", breadthNone},
		{"arn:aws:s3:::*", "role", breadthNone},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, iamBreadth(tt.resource, tt.kind), "%s for %s", tt.resource, tt.kind)
	}
}

func TestValidOperator(t *testing.T) {
	for _, op := range []string{"StringEquals", "StringLikeIfExists", "ForAnyValue:StringLike", "ForAllValues:ArnEqualsIfExists", "Null", "Bool", "BinaryEquals", "NumericGreaterThanEquals", "DateLessThan", "IpAddress", "NotIpAddressIfExists"} {
		require.True(t, validOperator(op), op)
	}
	for _, op := range []string{"StringEqualz", "stringequals", "NullIfExists", "ForAnyValue:Null", "ForSomeValues:StringLike", "IfExists", ""} {
		require.False(t, validOperator(op), op)
	}
}
