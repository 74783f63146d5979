package rollout

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"runtime"
)

// With AWS_CA_BUNDLE set, the Terraform AWS provider 5.100 (and so pulumi-aws 6.83, which
// bridges it) fails its second configuration in one process: "unable to add custom RootCAs
// HTTPClient, has no WithTransportOptions", the error of the AWS SDK for Go v2
// (aws-sdk-go-v2/config, resolveCustomCABundle), which can add a bundle only to an HTTP client
// of its own buildable type, when the client it is given is of another. So a shared provider
// is given the bundle another way, one that no configuration reads: as SSL_CERT_FILE, the
// file Go's crypto/x509 loads its system roots from, once per process, on Linux and the other
// Unix systems but macOS. Every TLS connection of the provider then trusts the bundle's
// certificates and those of the system's certificate folders (SSL_CERT_DIR, or the system's
// default), so that both a TLS-inspecting proxy (or an emulator) and AWS's own endpoints
// verify.
const (
	caBundleEnv = "AWS_CA_BUNDLE"
	certFileEnv = "SSL_CERT_FILE"
)

// certFileHonored says whether Go programs on this system take their roots from
// SSL_CERT_FILE: macOS and Windows verify with the platform's verifier and ignore it.
var certFileHonored = runtime.GOOS != "darwin" && runtime.GOOS != "ios" && runtime.GOOS != "windows"

// handOverCABundle replaces AWS_CA_BUNDLE in a shared provider's environment by
// SSL_CERT_FILE naming the same bundle, absolute (the provider's working folder is not the
// user's). It leaves AWS_CA_BUNDLE in place where that cannot be done: where SSL_CERT_FILE is
// ignored, or the bundle holds no certificate it can read, which the SDK of the CLI's own
// provider then reports as it would without the rollout; sharable then says no.
func handOverCABundle(env map[string]string) {
	bundle := env[caBundleEnv]
	if bundle == "" {
		delete(env, caBundleEnv)
		return
	}
	if !certFileHonored {
		return
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return
	}
	pem, err := os.ReadFile(abs)
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return
	}
	delete(env, caBundleEnv)
	env[certFileEnv] = abs
}
