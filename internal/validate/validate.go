package validate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is a value that breaks one of the rules. Its text names the value, what is wrong and
// the fix; callers wrap it with the field or flag the value came from.
type Error struct {
	// Rule is what the value should have been ("account ID", "tag key", "tag value").
	Rule string
	// Value is the value given.
	Value string
	// Fix says what AWS accepts.
	Fix string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Rule, Quote(e.Value), e.Fix)
}

// AccountID checks that id is an AWS account ID: exactly 12 digits, leading zeros included,
// so that a typo is caught before it reaches an API call or a role ARN.
func AccountID(id string) error {
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return &Error{Rule: "account ID", Value: id, Fix: "an AWS account ID is exactly 12 digits"}
	}
	return nil
}

// Tag checks one tag as IAM accepts it on roles and policies: a key of 1 to 128 characters
// outside the reserved aws: prefix, a value of at most 256 characters.
func Tag(key, value string) error {
	switch {
	case key == "" || len(key) > 128:
		return &Error{Rule: "tag key", Value: key, Fix: "a tag key is 1 to 128 characters"}
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return &Error{Rule: "tag key", Value: key, Fix: "the aws: prefix is reserved by AWS; choose another key"}
	case len(value) > 256:
		return &Error{Rule: "tag value", Value: key + "=" + value, Fix: "a tag value is at most 256 characters"}
	}
	return nil
}

// Tags checks every tag of a map, in key order so that the same input always names the same
// first problem.
func Tags(tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := Tag(k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

// maxQuoted is how much of a value a message quotes: enough to recognise it, never a dump of
// what a command or a file happened to hold.
const maxQuoted = 120

// Quote is %q of a value for a message, cut to its first maxQuoted bytes (at a rune
// boundary), with its full length when cut.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}
