package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// SecretsProvider is how the stacks' secrets are encrypted: Pulumi's passphrase provider, or
// an AWS KMS key (Pulumi's awskms:// provider), which needs no passphrase.
type SecretsProvider struct {
	// URL is the provider as the Pulumi CLI takes it: "passphrase" or awskms://KEY?region=...
	URL string
	// KeyID is the KMS key: its ID, alias/NAME, or ARN; "" for the passphrase provider.
	KeyID string
	// Region, Endpoint and Profile are the awskms:// URL's parameters of those names.
	Region, Endpoint, Profile string
}

// PassphraseProvider is the default secrets provider.
const PassphraseProvider = "passphrase"

// KMS reports whether the provider is an AWS KMS key.
func (p SecretsProvider) KMS() bool { return p.KeyID != "" }

// secretsProviderUsage is how the flag is written, for error messages.
const secretsProviderUsage = "use passphrase or awskms://KEY-ID-OR-ALIAS?region=REGION (an ARN after three slashes: awskms:///arn:aws:kms:...), optionally &endpoint=URL or &profile=NAME"

// ParseSecretsProvider checks a --secrets-provider value: "passphrase" (or ""), or an
// awskms:// URL naming a key, with only the parameters gocloud's awskms opener takes that this
// tool passes on (region, endpoint, profile).
func ParseSecretsProvider(s string) (SecretsProvider, error) {
	if s == "" || s == PassphraseProvider {
		return SecretsProvider{URL: PassphraseProvider}, nil
	}
	bad := func(format string, args ...any) (SecretsProvider, error) {
		return SecretsProvider{}, fmt.Errorf("--secrets-provider %q: %s: %s", s, fmt.Sprintf(format, args...), secretsProviderUsage)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a URL (%v)", errors.Unwrap(err))
	}
	if u.Scheme != "awskms" {
		return bad("unsupported provider")
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return bad("not an awskms:// URL")
	}
	p := SecretsProvider{URL: s}
	p.KeyID = path.Join(u.Host, u.Path)
	if len(p.KeyID) > 0 && p.KeyID[0] == '/' {
		p.KeyID = p.KeyID[1:]
	}
	if p.KeyID == "" || p.KeyID == "." {
		return bad("no KMS key")
	}
	for k, vs := range u.Query() {
		if len(vs) != 1 || vs[0] == "" {
			return bad("parameter %s wants one value", k)
		}
		switch v := vs[0]; k {
		case "region":
			if _, err := validate.Region(v); err != nil {
				return bad("region: %v", err)
			}
			p.Region = v
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return bad("endpoint %q is not an http(s) URL", v)
			}
			p.Endpoint = v
		case "profile":
			p.Profile = v
		default:
			return bad("unknown parameter %s", k)
		}
	}
	return p, nil
}

// kmsAPI is the part of the KMS client the data key needs.
type kmsAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// dataKeyObject is where a backend keeps its data key, encrypted with the KMS key.
const dataKeyObject = ".byoc-access/secrets/data-key.json"

// storedDataKey is the data key as the backend keeps it: only KMS can decrypt it.
type storedDataKey struct {
	KMSKey     string `json:"kmsKey"`
	Ciphertext []byte `json:"ciphertext"`
}

// dataKey is the secret key of a KMS-encrypted fleet, in place of the passphrase: it keys the
// fingerprints' HMAC and seals the records. It is a random 256-bit key made once per backend
// with KMS GenerateDataKey (envelope encryption), kept encrypted in the backend, and
// decrypted once per runner. It is nil where the backend cannot be written (Pulumi Cloud).
type dataKey struct {
	provider SecretsProvider
	store    backend.Store
	client   func(ctx context.Context) (kmsAPI, error)

	mu  sync.Mutex
	key []byte
}

// get returns the data key, making it on the backend's first use.
func (d *dataKey) get(ctx context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key != nil || d.store == nil {
		return d.key, nil
	}
	client, err := d.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: %w", d.provider.KeyID, err)
	}
	b, err := d.store.Read(ctx, dataKeyObject)
	if err != nil {
		// None yet: make one. Two first runs racing both write; each then uses what was
		// written last, read back, so that they agree from then on.
		out, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(d.provider.KeyID), KeySpec: kmstypes.DataKeySpecAes256})
		if err != nil {
			return nil, fmt.Errorf("KMS key %s: generate the data key: %w", d.provider.KeyID, err)
		}
		rec, _ := json.Marshal(storedDataKey{KMSKey: d.provider.KeyID, Ciphertext: out.CiphertextBlob})
		if err := d.store.Write(ctx, dataKeyObject, rec); err != nil {
			return nil, fmt.Errorf("backend: keep the data key: %w", err)
		}
		if b, err = d.store.Read(ctx, dataKeyObject); err != nil {
			return nil, fmt.Errorf("backend: read the data key back: %w", err)
		}
	}
	var rec storedDataKey
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.Ciphertext) == 0 {
		return nil, fmt.Errorf("backend: %s is not a data key this tool wrote", dataKeyObject)
	}
	out, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: rec.Ciphertext})
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: decrypt the data key (made with %s): %w", d.provider.KeyID, rec.KMSKey, err)
	}
	if len(out.Plaintext) != 32 {
		return nil, fmt.Errorf("KMS key %s: the data key is %d bytes, not 32", d.provider.KeyID, len(out.Plaintext))
	}
	d.key = out.Plaintext
	return d.key, nil
}

// kmsClient is the KMS client of the awskms:// URL: the same credentials as the backend's
// store, the URL's region, endpoint and profile over the environment's.
func (r *Runner) kmsClient(ctx context.Context) (kmsAPI, error) {
	p := r.secrets
	var extra []func(*awsconfig.LoadOptions) error
	if p.Profile != "" {
		extra = append(extra, awsconfig.WithSharedConfigProfile(p.Profile))
	}
	if p.Region != "" {
		extra = append(extra, awsconfig.WithRegion(p.Region))
	}
	cfg, err := r.sdkConfig(ctx, extra...)
	if err != nil {
		return nil, err
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if p.Endpoint != "" {
			o.BaseEndpoint = aws.String(p.Endpoint)
		}
	}), nil
}

// secretKey is the key of the fingerprints' HMAC and of the records' sealing: the passphrase,
// or the KMS fleet's data key.
func (r *Runner) secretKey(ctx context.Context) (string, error) {
	if !r.secrets.KMS() {
		return r.opts.Passphrase, nil
	}
	k, err := r.dataKey.get(ctx)
	return string(k), err
}

// fingerprintKey is secretKey once the run has loaded it (loadSecretKey); a KMS failure then
// cannot happen here.
func (r *Runner) fingerprintKey() string {
	k, _ := r.secretKey(context.Background())
	return k
}

// cloudSecretsState is the state of a stack's KMS secrets manager as its checkpoint keeps it.
type cloudSecretsState struct {
	URL          string `json:"url"`
	EncryptedKey string `json:"encryptedkey"`
}

// restoreKMSSettings gives an existing stack of a KMS fleet its secrets provider in the
// workspace's stack settings. The CLI takes a stack's secrets manager from those settings
// (Pulumi.STACK.yaml: secretsprovider and encryptedkey), which only `stack init` writes, and
// each run has a new workspace: without them it falls back to the passphrase provider and
// fails. The checkpoint keeps both; it is read from the backend, or exported through the CLI
// when the backend cannot be read directly. A new stack has none and needs none.
func (p *pass) restoreKMSSettings(ctx context.Context, ws auto.Workspace, a targets.Account, stack string) error {
	if !p.secrets.KMS() {
		return nil
	}
	settings, err := ws.StackSettings(ctx, stack)
	if err == nil && settings != nil && settings.SecretsProvider != "" {
		return nil
	}
	if settings == nil {
		settings = &workspace.ProjectStack{}
	}
	var sp *apitype.SecretsProvidersV1
	if p.store != nil {
		dep, err := p.readCheckpoint(ctx, a, stack)
		if err != nil {
			return err
		}
		if dep != nil {
			sp = dep.SecretsProviders
		}
	} else if found, err := stackExists(ctx, ws, stack); err != nil {
		return err
	} else if found {
		exp, err := ws.ExportStack(ctx, stack)
		if err != nil {
			return fmt.Errorf("stack %s: export: %w", stack, err)
		}
		var dep apitype.DeploymentV3
		if err := json.Unmarshal(exp.Deployment, &dep); err != nil {
			return fmt.Errorf("stack %s: export: %w", stack, err)
		}
		sp = dep.SecretsProviders
	}
	if sp == nil || sp.Type == "" {
		return nil
	}
	if !saveKMSSettings(ctx, ws, stack, settings, sp) {
		return &AccountError{AccountID: a.ID, Kind: KindConfig,
			Reason: fmt.Sprintf("stack %s encrypts its secrets with the %s provider, not a KMS key: run this account with that provider, or move the stack to KMS with `pulumi stack change-secrets-provider %s --stack %s`", stack, sp.Type, p.secrets.URL, stack)}
	}
	return nil
}

// saveKMSSettings writes a KMS secrets manager's state (sp, from a checkpoint) into the
// workspace's settings of stack; false when sp is not a KMS one.
func saveKMSSettings(ctx context.Context, ws auto.Workspace, stack string, settings *workspace.ProjectStack, sp *apitype.SecretsProvidersV1) bool {
	var st cloudSecretsState
	if sp == nil || sp.Type != "cloud" || json.Unmarshal(sp.State, &st) != nil || st.URL == "" || st.EncryptedKey == "" {
		return false
	}
	if settings == nil {
		settings = &workspace.ProjectStack{}
	}
	settings.SecretsProvider, settings.EncryptedKey = st.URL, st.EncryptedKey
	return ws.SaveStackSettings(ctx, stack, settings) == nil
}
