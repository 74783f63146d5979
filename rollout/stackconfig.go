package rollout

// An account's stack config (the deployment's keys and the AWS provider's assumed role), and
// the fingerprint of it that lets an unchanged account be skipped.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/byoc-access/byoc-access/rollout/targets"
)

// stackConfig is the full config of an account's stack: the deployment's keys and the AWS
// provider's region and assumed role, set in one CLI call.
func (r *Runner) stackConfig(a targets.Account) (auto.ConfigMap, error) {
	cfg := auto.ConfigMap{}
	if r.dep.StackConfig != nil {
		kv, err := r.dep.StackConfig(a)
		if err != nil {
			return nil, err
		}
		for k, v := range kv {
			cfg[k] = auto.ConfigValue{Value: v}
		}
	}
	role := r.opts.ExecutionRole
	if r.dep.SecretConfig != nil {
		kv, err := r.dep.SecretConfig(a)
		if err != nil {
			return nil, err
		}
		for k, v := range kv {
			cfg[k] = auto.ConfigValue{Value: v, Secret: true}
		}
	}
	cfg["aws:region"] = auto.ConfigValue{Value: r.opts.Region}
	if r.dep.OwnCredentials {
		return cfg, nil
	}
	cfg["aws:assumeRole.roleArn"] = auto.ConfigValue{Value: role.RoleARN(role.Partition, a.ID)}
	cfg["aws:assumeRole.sessionName"] = auto.ConfigValue{Value: role.Session(a.ID)}
	if role.Duration != 0 {
		// The provider's session lasts as long as the preflight's would: a long update must
		// not outlive a short session, nor a short policy be widened by the provider's default.
		cfg["aws:assumeRole.duration"] = auto.ConfigValue{Value: role.Duration.String()}
	}
	if role.ExternalID != "" {
		cfg["aws:assumeRole.externalId"] = auto.ConfigValue{Value: role.ExternalID, Secret: true}
	}
	return cfg, nil
}

// setFingerprint adds the account's fingerprint to its stack config and returns it; "" when
// the deployment keeps none.
func (r *Runner) setFingerprint(cfg auto.ConfigMap) string {
	if r.dep.FingerprintKey == "" {
		return ""
	}
	fp := fingerprint(r.fingerprintKey(), r.dep.Version, cfg)
	cfg[r.dep.FingerprintKey] = auto.ConfigValue{Value: fp}
	return fp
}

// fingerprint digests everything an account's update depends on: the program and spec
// version and the stack config (provider config included). It is an HMAC keyed with the
// secrets passphrase, or a KMS fleet's data key, because it is stored as a plain output and
// the config holds secrets.
func fingerprint(key, version string, cfg auto.ConfigMap) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(h, "%s\n", version)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, cfg[k].Value)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// upToDate reports whether the account's stack was last updated successfully with this
// fingerprint; if so it fills the result from the stack's outputs. It is the fallback when the
// backend could not be listed: one light CLI call replaces a whole update.
func (r *Runner) upToDate(ctx context.Context, ws auto.Workspace, name, fp string, res *Result) bool {
	outs, err := maskedOutputs(ctx, ws, name)
	if err != nil {
		return false
	}
	if got, _ := outs["fingerprint"].Value.(string); got != fp {
		return false
	}
	fillOutputs(res, outs)
	res.UpToDate = true
	return true
}
