package rollout

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

func TestParseSecretsProvider(t *testing.T) {
	tests := []struct {
		in      string
		want    SecretsProvider
		wantErr string
	}{
		{in: "", want: SecretsProvider{URL: "passphrase"}},
		{in: "passphrase", want: SecretsProvider{URL: "passphrase"}},
		{in: "awskms://alias/byoc?region=eu-west-1", want: SecretsProvider{URL: "awskms://alias/byoc?region=eu-west-1", KeyID: "alias/byoc", Region: "eu-west-1"}},
		{in: "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-1&endpoint=http://127.0.0.1:5000",
			want: SecretsProvider{URL: "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-1&endpoint=http://127.0.0.1:5000",
				KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1", Endpoint: "http://127.0.0.1:5000"}},
		{in: "awskms:///arn:aws:kms:us-east-1:111122223333:key/k1?region=us-east-1",
			want: SecretsProvider{URL: "awskms:///arn:aws:kms:us-east-1:111122223333:key/k1?region=us-east-1", KeyID: "arn:aws:kms:us-east-1:111122223333:key/k1", Region: "us-east-1"}},
		{in: "awskms://alias/byoc?profile=ops", want: SecretsProvider{URL: "awskms://alias/byoc?profile=ops", KeyID: "alias/byoc", Profile: "ops"}},
		{in: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", wantErr: "unsupported provider"},
		{in: "hashivault://byoc", wantErr: "unsupported provider"},
		{in: "Passphrase", wantErr: "unsupported provider"},
		{in: "awskms://?region=us-east-1", wantErr: "no KMS key"},
		{in: "awskms:///", wantErr: "no KMS key"},
		{in: "awskms://arn:aws:kms:us-east-1:111122223333:key/k1", wantErr: "not a URL"},
		{in: "awskms://alias/byoc?region=moon-1", wantErr: "region"},
		{in: "awskms://alias/byoc?endpoint=localhost:5000", wantErr: `endpoint "localhost:5000"`},
		{in: "awskms://alias/byoc?regoin=us-east-1", wantErr: "unknown parameter regoin"},
		{in: "awskms://alias/byoc?region=us-east-1&region=eu-west-1", wantErr: "parameter region wants one value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSecretsProvider(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, "--secrets-provider")
				require.ErrorContains(t, err, "awskms://KEY-ID-OR-ALIAS?region=REGION", "the message says how to write it")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// fakeKMS wraps data keys with a fixed prefix and counts the calls.
type fakeKMS struct{ generated, decrypted int }

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.generated++
	key := bytes.Repeat([]byte{byte(f.generated)}, 32)
	return &kms.GenerateDataKeyOutput{KeyId: in.KeyId, Plaintext: key, CiphertextBlob: append([]byte("wrapped:"), key...)}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.decrypted++
	key, ok := bytes.CutPrefix(in.CiphertextBlob, []byte("wrapped:"))
	if !ok {
		return nil, errors.New("InvalidCiphertextException")
	}
	return &kms.DecryptOutput{Plaintext: key}, nil
}

// TestDataKeyMadeOncePerBackend: the first runner on a backend makes the data key and keeps it
// wrapped there; later runners unwrap the same key, and it seals and opens records.
func TestDataKeyMadeOncePerBackend(t *testing.T) {
	st, err := backend.Open(context.Background(), "file://"+t.TempDir(), aws.Config{})
	require.NoError(t, err)
	fake := &fakeKMS{}
	p, err := ParseSecretsProvider("awskms://alias/byoc?region=us-east-1")
	require.NoError(t, err)
	newKey := func() *dataKey {
		return &dataKey{provider: p, store: st, client: func(context.Context) (kmsAPI, error) { return fake, nil }}
	}

	first, err := newKey().get(context.Background())
	require.NoError(t, err)
	require.Len(t, first, 32)
	stored, err := st.Read(context.Background(), dataKeyObject)
	require.NoError(t, err)
	require.NotContains(t, string(stored), string(first), "the backend keeps the key only wrapped")

	second := newKey()
	got, err := second.get(context.Background())
	require.NoError(t, err)
	require.Equal(t, first, got)
	_, err = second.get(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, fake.generated, "one data key per backend")
	require.Equal(t, 2, fake.decrypted, "one Decrypt per runner")

	s := &sealer{dataKey: func() ([]byte, error) { return second.get(context.Background()) }}
	sealed, err := s.seal("dd-secret")
	require.NoError(t, err)
	require.NotContains(t, sealed, "dd-secret")
	plain, err := (&sealer{dataKey: func() ([]byte, error) { return first, nil }}).open(sealed)
	require.NoError(t, err)
	require.Equal(t, "dd-secret", plain)
	_, err = (&sealer{passphrase: "pw"}).open(sealed)
	require.ErrorContains(t, err, "sealed with a KMS key")
	require.NotEqual(t, fingerprint(string(first), "v1", nil), fingerprint("", "v1", nil))
}
