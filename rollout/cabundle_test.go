package rollout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A shared provider gets the run's CA bundle as SSL_CERT_FILE, absolute, and no
// AWS_CA_BUNDLE, which its second configuration would fail on; a bundle it cannot read stays
// AWS_CA_BUNDLE, and the provider is then not shared.
func TestProviderEnvHandsOverTheCABundle(t *testing.T) {
	if !certFileHonored {
		t.Skip("SSL_CERT_FILE is not honored on this system: AWS_CA_BUNDLE turns sharing off")
	}
	dir := t.TempDir()
	system := "/etc/ssl/certs/ca-certificates.crt"
	pem, err := os.ReadFile(system)
	if err != nil {
		t.Skipf("no system CA bundle to copy: %v", err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bundle.pem"), pem, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.pem"), []byte("no certificate here\n"), 0o600))
	t.Chdir(dir)

	for _, tc := range []struct {
		name     string
		bundle   string
		certFile string // SSL_CERT_FILE wanted; "" for the machine's own
		sharable bool
	}{
		{"no bundle", "", "/machine.pem", true},
		{"absolute bundle", filepath.Join(dir, "bundle.pem"), filepath.Join(dir, "bundle.pem"), true},
		{"relative bundle", "bundle.pem", filepath.Join(dir, "bundle.pem"), true},
		{"missing bundle", "missing.pem", "/machine.pem", false},
		{"bundle without a certificate", "empty.pem", "/machine.pem", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SSL_CERT_FILE", "/machine.pem")
			t.Setenv(caBundleEnv, "")
			env := providerEnv(map[string]string{caBundleEnv: tc.bundle})
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			require.Equal(t, tc.sharable, sharable(env))
			require.Equal(t, tc.certFile, got[certFileEnv])
			if tc.sharable {
				require.NotContains(t, got, caBundleEnv)
			} else {
				require.Equal(t, tc.bundle, got[caBundleEnv])
			}
		})
	}
}
