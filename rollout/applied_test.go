package rollout

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestAppliedRecordSealsSecrets: what a record keeps of an update holds a secret parameter's
// value only encrypted with the passphrase, and the same passphrase gives the values back.
func TestAppliedRecordSealsSecrets(t *testing.T) {
	const secret = "dd-4f1c9a-very-secret"
	cases := []struct {
		name   string
		params map[string]any
		secret []string
		sealed bool
	}{
		{name: "no secret: values in clear", params: map[string]any{"external_id": "o-abcde"}},
		{name: "a secret: values sealed", params: map[string]any{"external_id": secret, "role_name": "R"}, secret: []string{"external_id"}, sealed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{sealer: &sealer{passphrase: "correct horse"}, dep: Deployment{Applied: func(targets.Account) (*Applied, error) {
				return &Applied{Program: "dev", Spec: json.RawMessage(`{}`), Params: tc.params, Secret: tc.secret}, nil
			}}}
			ap := r.applied(targets.Account{ID: "111122223333"})
			require.NotNil(t, ap)
			b, err := json.Marshal(record{Fingerprint: "x", Applied: ap})
			require.NoError(t, err)
			require.NotContains(t, string(b), secret)
			require.Equal(t, tc.sealed, ap.SealedParams != "")

			got, err := r.ParamsOf(ap)
			require.NoError(t, err)
			require.Equal(t, tc.params, got)

			if tc.sealed {
				other := &Runner{sealer: &sealer{passphrase: "wrong"}}
				_, err := other.ParamsOf(ap)
				require.ErrorContains(t, err, "cannot be decrypted with this passphrase")
			}
		})
	}
}
