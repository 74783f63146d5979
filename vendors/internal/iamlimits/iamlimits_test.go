package iamlimits

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDocumentChars(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  map[string]any
		want int
	}{
		{"nil", nil, 0},
		{"plain", map[string]any{"a": "b"}, len(`{"a":"b"}`)},
		{"white space inside values is not counted", map[string]any{"a": "b c"}, len(`{"a":"bc"}`)},
		{"<, > and & are one character each", map[string]any{"a": "<>&"}, len(`{"a":"<>&"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DocumentChars(tc.doc))
		})
	}
}
