package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/byoc-access/byoc-access/rollout/access"
)

// Moto is a moto_server on 127.0.0.1 that lives as long as the test that started it.
type Moto struct {
	// Endpoint is the base URL for SDK clients and AWS_ENDPOINT_URL: http://127.0.0.1:PORT.
	Endpoint string
	// Port is the endpoint's port, for tools that take a port rather than a URL.
	Port int
	// CABundle is the PEM file of the CA moto's certificate is signed by, when it serves
	// HTTPS (WithTLS); "" for plain HTTP.
	CABundle string
	// Pid is moto_server's process, which serves every account from one Python process: a
	// benchmark reads its CPU time, which is in no measured process tree.
	Pid int
	// client reaches moto's own API (reset, reset-auth).
	client *http.Client
}

// Fake credentials: moto accepts any, and maps this default key to account 123456789012.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	Region          = "us-east-1"
	// MotoAccount is the account the default credentials act in.
	MotoAccount = "123456789012"
)

// MotoOption changes how moto is started.
type MotoOption func(*motoSettings)

type motoSettings struct{ managedPolicies, tls bool }

// WithoutManagedPolicies starts moto without AWS-managed IAM policies. Loading them costs
// about a second for every account moto creates, so organization-scale tests leave them out.
func WithoutManagedPolicies() MotoOption { return func(s *motoSettings) { s.managedPolicies = false } }

// StartMoto starts moto_server for the test and stops it when the test ends. AWS-managed
// policies such as ReadOnlyAccess exist unless WithoutManagedPolicies is given. It skips the
// test, saying why, when moto is not installed.
func StartMoto(t testing.TB, opts ...MotoOption) *Moto {
	t.Helper()
	settings := motoSettings{managedPolicies: true}
	for _, o := range opts {
		o(&settings)
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		Missing(t, "moto_server not on PATH: install moto[server] (pip install 'moto[server]') to run the AWS API tests")
	}
	// A free port can be taken between the probe and moto's bind (other tests start servers
	// and CLIs at the same time), and a probe could then reach another test's moto: so moto's
	// own log must say it runs on the port, and a lost race is retried on another port.
	var lastLog []byte
	for attempt := 0; attempt < 5; attempt++ {
		m, log, ok := startMoto(t, bin, settings)
		if ok {
			return m
		}
		lastLog = log
	}
	t.Fatalf("moto_server did not start after 5 attempts:\n%s", lastLog)
	return nil
}

// startMoto starts moto_server on a free port and waits until its own log says it runs there
// and it answers. It reports false, with the log, when the port was taken meanwhile.
func startMoto(t testing.TB, bin string, settings motoSettings) (*Moto, []byte, bool) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port for moto: %v", err)
	}
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)}
	scheme, caBundle := "http", ""
	if settings.tls {
		files := newMotoTLS(t)
		args = append(args, "-c", files.certFile, "-k", files.keyFile)
		scheme, caBundle = "https", files.caFile
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES="+strconv.FormatBool(settings.managedPolicies))
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("moto log: %v", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A test binary killed by go test's -timeout runs no cleanup: the server must not outlive it.
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = logFile.Close()
	}
	m := &Moto{Endpoint: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), Port: port, CABundle: caBundle, Pid: cmd.Process.Pid, client: httpClient(t, caBundle)}
	running := fmt.Sprintf("Running on %s://127.0.0.1:%d", scheme, port)
	deadline := time.Now().Add(30 * time.Second)
	probe := *m.client
	probe.Timeout = 2 * time.Second
	for {
		log, _ := os.ReadFile(logPath)
		select {
		case <-exited:
			_ = logFile.Close()
			return nil, log, false
		default:
		}
		if bytes.Contains(log, []byte("Address already in use")) {
			stop()
			return nil, log, false
		}
		if bytes.Contains(log, []byte(running)) {
			if resp, err := probe.Get(m.Endpoint + "/moto-api/"); err == nil {
				resp.Body.Close()
				t.Cleanup(stop)
				return m, nil, true
			}
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("moto_server did not answer on %s within 30s:\n%s", m.Endpoint, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AWSConfig is an SDK config that talks to this moto as MotoAccount, with the default fake
// credentials, in us-east-1.
//
// It also names the account in moto's x-moto-account-id header: without it moto finds the
// account of every request by scanning the access keys of every account it knows, which
// doubles the cost of each call in an organization of 1,000 accounts. The header says what the
// scan would find for these credentials, so nothing else changes.
func (m *Moto) AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	cfg := m.ConfigFor(t, credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""))
	cfg.APIOptions = append(cfg.APIOptions, smithyhttp.AddHeaderValue("x-moto-account-id", MotoAccount))
	return cfg
}

// ConfigFor is an SDK config for this moto with the given credentials (e.g. assumed ones).
func (m *Moto) ConfigFor(t testing.TB, creds aws.CredentialsProvider) aws.Config {
	t.Helper()
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(Region),
		config.WithCredentialsProvider(creds),
		config.WithBaseEndpoint(m.Endpoint),
	}
	if m.CABundle != "" {
		// Before AWS_CA_BUNDLE of the environment, which may name the machine's bundle.
		pemCerts, err := os.ReadFile(m.CABundle)
		if err != nil {
			t.Fatalf("moto CA bundle: %v", err)
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pemCerts)))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	return cfg
}

// MemberConfig is an SDK config acting in a member account of this moto's organization
// through its OrganizationAccountAccessRole, assumed with the default credentials, as an
// administrator (or the rollout) reaches a member account. Unlike AWSConfig it sends no
// x-moto-account-id header, which would pin every call, assumed ones too, to the management
// account.
func (m *Moto) MemberConfig(t testing.TB, accountID string) aws.Config {
	t.Helper()
	base := m.ConfigFor(t, credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""))
	return access.ExecutionRole{}.Credentials(base, sts.NewFromConfig(base), "aws", accountID)
}

// Env is the environment a child process (the aws CLI, the Pulumi CLI) needs to use moto.
func (m *Moto) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + m.Endpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
	}
}

// UseInEnv points the test's environment, and so every process it starts (the Pulumi CLI and
// its providers, the aws CLI), at this moto with the default credentials, clearing a session
// token or profile that would take precedence. It uses t.Setenv: the test cannot be parallel.
func (m *Moto) UseInEnv(t testing.TB) {
	t.Helper()
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	// Over HTTPS, moto's CA is the bundle, as a TLS-inspecting proxy's is on a user's machine.
	// Over plain HTTP none is needed: the machine's is cleared, so that tests run alike on
	// machines with and without one.
	t.Setenv("AWS_CA_BUNDLE", m.CABundle)
}

// api is the client for moto's own API.
func (m *Moto) api() *http.Client {
	if m.client == nil {
		return http.DefaultClient
	}
	return m.client
}

// Reset clears every moto backend (organizations, accounts, IAM, S3...), so subtests can share
// one server, which is cheaper than starting one each. It does not undo EnforceIAM.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	resp, err := m.api().Post(m.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("reset moto: %s: %s", resp.Status, body)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RetryingConfig is the SDK config the project uses in production (access.NewAWSConfig, with
// its retryer), pointed at endpoint (moto, or a fault proxy in front of it).
func RetryingConfig(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg, err := access.NewAWSConfig(context.Background(), Region,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		config.WithBaseEndpoint(endpoint))
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}
