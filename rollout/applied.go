package rollout

// What an account's last successful update applied, kept in its fingerprint record, and what
// every account had before a run: the two things a rollback needs.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// Applied is what an account's last successful update applied: enough to deploy it again
// later (a rollback) whatever has changed since in the spec file, the preset or the flags.
type Applied struct {
	// Program is the version of the program that applied it (the binary's).
	Program string `json:"program"`
	// Version is the deployment's version, program and spec hash, as in the fingerprint.
	Version string `json:"version"`
	// Vendor is the preset's name when the spec was an embedded preset.
	Vendor string `json:"vendor,omitempty"`
	// Spec is the vendor spec as deployed, as JSON (which vendors.Load reads back).
	Spec json.RawMessage `json:"spec,omitempty"`
	// SpecRef stands for Spec in a run directory's previous.json, which keeps each distinct
	// spec once (a fleet's accounts mostly share one) and names it here by its SHA-256.
	SpecRef string `json:"specRef,omitempty"`
	// Params are the account's parameter values, when none of the secret ones is set.
	Params map[string]any `json:"params,omitempty"`
	// SealedParams are the parameter values encrypted with the secrets passphrase, as
	// Pulumi's passphrase provider encrypts stack secrets, when a secret one is set: a record
	// never holds a secret in clear.
	SealedParams string `json:"sealedParams,omitempty"`
	// Secret names the parameters deployed as secrets.
	Secret []string `json:"secret,omitempty"`
	// Tags are the extra tags on every role and policy.
	Tags map[string]string `json:"tags,omitempty"`
	// Region is the deployment's AWS region.
	Region string `json:"region,omitempty"`
}

// Before says what an account had before a run touched it.
type Before string

// What an account can have had.
const (
	// BeforeNothing: no stack, so nothing of the vendor's was deployed by this tool.
	BeforeNothing Before = "nothing"
	// BeforeApplied: a successful update whose Applied record is kept.
	BeforeApplied Before = "applied"
	// BeforeUnknown: a stack without a usable record (its last update failed, or was made
	// before records kept what was applied), which cannot be restored.
	BeforeUnknown Before = "unknown"
)

// Previous is one account's state before a run.
type Previous struct {
	// Account is the account.
	Account targets.Account `json:"account"`
	// Had is what it had.
	Had Before `json:"had"`
	// Applied is what its last update applied, when Had is BeforeApplied.
	Applied *Applied `json:"applied,omitempty"`
	// Reason says why it is BeforeUnknown.
	Reason string `json:"reason,omitempty"`
}

// ErrNoRecords says the backend cannot be read directly (Pulumi Cloud), so what each account
// had before a run cannot be known and a rollback is not possible.
var ErrNoRecords = errors.New("the backend keeps no records that this tool can read (file:// and s3:// do): rollback is not available")

// Previous reads what every account has now, from the backend's listing and the records
// beside the state: call it before a run to know what to return each account to.
func (r *Runner) Previous(ctx context.Context, accounts []targets.Account) ([]Previous, error) {
	if r.store == nil {
		return nil, ErrNoRecords
	}
	stacks, err := r.existingStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	out := make([]Previous, len(accounts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, a := range accounts {
		out[i] = Previous{Account: a, Had: BeforeNothing}
		name := r.StackName(a.ID)
		if !stacks[name] {
			continue
		}
		g.Go(func() error {
			p := &out[i]
			p.Had, p.Reason = BeforeUnknown, "its stack has no record of a successful update (the last one failed or was interrupted)"
			b, err := r.store.Read(gctx, r.recordKey(name))
			if err != nil {
				return nil
			}
			var rec record
			switch {
			case json.Unmarshal(b, &rec) != nil:
				p.Reason = "its record cannot be read"
			case rec.Applied == nil:
				p.Reason = "its last update was made by a version that did not record what it applied"
			default:
				p.Had, p.Applied, p.Reason = BeforeApplied, rec.Applied, ""
			}
			return nil
		})
	}
	_ = g.Wait()
	return out, ctx.Err()
}

// ParamsOf is the parameter values an Applied record holds, decrypted when sealed.
func (r *Runner) ParamsOf(a *Applied) (map[string]any, error) {
	if a.SealedParams == "" {
		return a.Params, nil
	}
	plain, err := r.sealer.open(a.SealedParams)
	if err != nil {
		return nil, fmt.Errorf("the recorded parameters cannot be decrypted with this passphrase: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(plain), &out); err != nil {
		return nil, fmt.Errorf("the recorded parameters: %w", err)
	}
	return out, nil
}

// applied is the record of what the update of account a applied, sealed when it holds a
// secret; nil when the deployment does not say.
func (r *Runner) applied(a targets.Account) *Applied {
	if r.dep.Applied == nil {
		return nil
	}
	ap, err := r.dep.Applied(a)
	if err != nil || ap == nil {
		return nil
	}
	if len(ap.Secret) == 0 {
		return ap
	}
	plain, err := json.Marshal(ap.Params)
	if err != nil {
		return nil
	}
	sealed, err := r.sealer.seal(string(plain))
	if err != nil {
		// Without a sealed copy there is no record of what was applied, never a clear one.
		return nil
	}
	out := *ap
	out.Params, out.SealedParams = nil, sealed
	return &out
}

// sealer encrypts and decrypts record values with a key derived from the secrets passphrase,
// as Pulumi's passphrase provider does (PBKDF2, AES-256-GCM). The derivation is slow on
// purpose, so one key per salt is kept for the runner's life. A KMS fleet's sealer uses its
// data key instead, as is, with "kms" in the salt's place.
type sealer struct {
	passphrase string
	dataKey    func() ([]byte, error)
	mu         sync.Mutex
	salt       string
	crypters   map[string]config.Crypter
}

func (s *sealer) crypter(salt string) (config.Crypter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.crypters[salt]; ok {
		return c, nil
	}
	if s.dataKey != nil {
		if salt != kmsSalt {
			return nil, errors.New("sealed with a passphrase, not with the KMS key")
		}
		key, err := s.dataKey()
		if err != nil {
			return nil, err
		}
		if key == nil {
			return nil, errors.New("no data key to encrypt with")
		}
		return config.NewSymmetricCrypter(key), nil
	}
	if salt == kmsSalt {
		return nil, errors.New("sealed with a KMS key, not with a passphrase")
	}
	raw, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		return nil, fmt.Errorf("bad salt: %w", err)
	}
	if s.crypters == nil {
		s.crypters = map[string]config.Crypter{}
	}
	c := config.NewSymmetricCrypterFromPassphrase(s.passphrase, raw)
	s.crypters[salt] = c
	return c, nil
}

// seal is "SALT:CIPHERTEXT", the ciphertext in the CLI's own v1 form.
func (s *sealer) seal(plain string) (string, error) {
	if s.dataKey != nil {
		c, err := s.crypter(kmsSalt)
		if err != nil {
			return "", err
		}
		ct, err := c.EncryptValue(context.Background(), plain)
		if err != nil {
			return "", err
		}
		return kmsSalt + ":" + ct, nil
	}
	if s.passphrase == "" {
		return "", errors.New("no passphrase to encrypt with")
	}
	s.mu.Lock()
	if s.salt == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			s.mu.Unlock()
			return "", err
		}
		s.salt = base64.StdEncoding.EncodeToString(b)
	}
	salt := s.salt
	s.mu.Unlock()
	c, err := s.crypter(salt)
	if err != nil {
		return "", err
	}
	ct, err := c.EncryptValue(context.Background(), plain)
	if err != nil {
		return "", err
	}
	return salt + ":" + ct, nil
}

func (s *sealer) open(sealed string) (string, error) {
	salt, ct, ok := strings.Cut(sealed, ":")
	if !ok {
		return "", errors.New("not a sealed value")
	}
	c, err := s.crypter(salt)
	if err != nil {
		return "", err
	}
	return c.DecryptValue(context.Background(), ct)
}

// kmsSalt stands for the salt in values sealed with a KMS fleet's data key.
const kmsSalt = "kms"
