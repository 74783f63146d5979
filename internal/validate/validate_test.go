package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccountID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"123456789012", true},
		{"000000000001", true},
		{"12345678901", false},
		{"1234567890123", false},
		{"12345678901a", false},
		{" 23456789012", false},
		{"", false},
		{"１23456789012", false}, // a full-width digit is not a digit AWS accepts
	} {
		err := AccountID(tc.id)
		if tc.ok {
			require.NoError(t, err, tc.id)
			continue
		}
		var ve *Error
		require.True(t, errors.As(err, &ve), tc.id)
		require.Equal(t, "account ID", ve.Rule)
		require.Contains(t, err.Error(), "exactly 12 digits")
	}
}

func TestTags(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags map[string]string
		want string
	}{
		{"fine", map[string]string{"team": "platform", "empty": ""}, ""},
		{"empty key", map[string]string{"": "x"}, "1 to 128"},
		{"long key", map[string]string{strings.Repeat("k", 129): "x"}, "1 to 128"},
		{"reserved", map[string]string{"AWS:owner": "x"}, "reserved"},
		{"long value", map[string]string{"k": strings.Repeat("v", 257)}, "at most 256"},
		{"first in key order", map[string]string{"b": strings.Repeat("v", 257), "aws:a": "x"}, "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Tags(tc.tags)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ve *Error
			require.ErrorAs(t, err, &ve)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
