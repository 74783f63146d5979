package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WithTLS serves moto over HTTPS with a certificate of a test CA of its own, as an AWS
// endpoint behind a TLS-inspecting proxy is: only clients given the CA (Moto.CABundle, as
// AWS_CA_BUNDLE for processes) can reach it.
func WithTLS() MotoOption { return func(s *motoSettings) { s.tls = true } }

// motoTLS is the test CA's bundle and the server's certificate and key, as files.
type motoTLS struct{ caFile, certFile, keyFile string }

// newMotoTLS makes a CA and a certificate for 127.0.0.1 signed by it, in a folder of the test.
func newMotoTLS(t testing.TB) motoTLS {
	t.Helper()
	dir := t.TempDir()
	files := motoTLS{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "moto.pem"), filepath.Join(dir, "moto-key.pem")}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("moto CA key: %v", err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "byoc-access test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("moto CA: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("moto key: %v", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("moto certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("moto key: %v", err)
	}
	for file, block := range map[string]*pem.Block{
		files.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		files.certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		files.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatalf("moto TLS files: %v", err)
		}
	}
	return files
}

// httpClient is a client that trusts the CA bundle (none: the system's roots).
func httpClient(t testing.TB, caBundle string) *http.Client {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	if caBundle == "" {
		return c
	}
	pemCerts, err := os.ReadFile(caBundle)
	if err != nil {
		t.Fatalf("moto CA bundle: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCerts)
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	return c
}
