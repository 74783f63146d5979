package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/byoc-access/byoc-access/components/program"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
	"github.com/byoc-access/byoc-access/vendors/lint"
)

// VendorArgs say which vendor spec VendorDeployment deploys and with which values. The
// rollout binary fills them from its flags; a Go program fills them itself and gets the same
// deployment.
type VendorArgs struct {
	// Vendor is the embedded preset's name, or SpecFile the spec file's path (made absolute
	// here, since the program reads it from another directory); exactly one is set. The
	// program of every account reads the spec again from the one that is set.
	Vendor, SpecFile string
	// Spec is the spec Vendor or SpecFile names, already loaded; nil loads it with
	// vendors.Select.
	Spec *vendors.VendorSpec
	// Params are the parameter values every account deploys with (the fleet-wide ones).
	Params map[string]any
	// Tags are extra tags on every role and policy.
	Tags map[string]string
	// Region is the deployment's AWS region.
	Region string
	// Version is the program's version (the binary's); the spec's hash is appended, and both
	// are part of each account's fingerprint.
	Version string

	// AccountParams, when set, returns an account's own parameter values with the fleet-wide
	// ones merged in, or the error that fails that account (and only it). Nil: every account
	// deploys Params.
	AccountParams func(accountID string) (map[string]any, error)
	// Accounts are the run's accounts in order, with AccountParams: the checks run with the
	// values of the first one whose values resolve, and ErrNoAccountResolved says none did.
	Accounts []targets.Account
	// Secret names the secret parameters: an account that deploys a non-empty value of one
	// gets its whole params object as an encrypted stack secret, since the program reads it
	// as one object and a secret inside it must not reach the settings file in clear.
	Secret map[string]bool
}

// ErrNoAccountResolved is VendorDeployment's answer when AccountParams failed every account:
// there is nothing to deploy, and each account's own error says why.
var ErrNoAccountResolved = errors.New("no account has usable parameter values")

// SpecError says the vendor spec cannot be deployed with the values given (they do not
// resolve, the spec does not render, or lint cannot read it), or the arguments do not name a
// spec: bad input, found before any account is touched.
type SpecError struct {
	// Err is the problem, naming the parameter, field or file.
	Err error
}

func (e *SpecError) Error() string { return e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

// LintError says the vendor spec, with the values given, has lint errors, so nothing was
// deployed.
type LintError struct {
	// Findings are the errors (not the warnings) lint found.
	Findings []lint.Finding
	// File is the spec file, as the user named it; "" for a preset.
	File string
}

func (e *LintError) Error() string {
	errs := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		// Where names the role, policy and statement: several policies may break one rule.
		errs[i] = f.Rule + " " + f.Message
		if w := f.Where(); w != "" {
			errs[i] = f.Rule + " " + w + ": " + f.Message
		}
	}
	spec := "the vendor spec"
	if e.File != "" {
		spec = "the vendor spec " + e.File
	}
	return fmt.Sprintf("%s fails lint, so nothing was deployed:\n  %s\n(run `rollout lint` for details)", spec, strings.Join(errs, "\n  "))
}

// placeholderAccount is the account the checks render for before any real account is known.
const placeholderAccount = "000000000000"

// VendorDeployment is the real vendor program (components/program) for every account,
// checked first: the spec and parameters are resolved, rendered and linted once, so bad input
// stops the run before any account is touched (*SpecError, *LintError). The deployment
// adopts, with the Adopt option, the roles and policies the spec names that already exist in
// an account, read as verify reads them.
func VendorDeployment(args VendorArgs) (Deployment, error) {
	v, err := newVendorDeployment(args)
	if err != nil {
		return Deployment{}, err
	}
	// The checks run once with the values some account deploys: the fleet-wide ones, or the
	// first account's own that resolve.
	checked := args.Params
	if args.AccountParams != nil {
		found := false
		for _, a := range args.Accounts {
			if given, err := args.AccountParams(a.ID); err == nil {
				checked, found = given, true
				break
			}
		}
		if !found {
			return Deployment{}, ErrNoAccountResolved
		}
	}
	if err := v.check(checked); err != nil {
		return Deployment{}, err
	}
	specJSON, err := json.Marshal(v.spec)
	if err != nil {
		return Deployment{}, err
	}
	sum := sha256.Sum256(specJSON)
	dep := Deployment{
		Project:        program.Project,
		Program:        program.Run,
		NeedsAWSPlugin: true,
		Version:        args.Version + "+spec." + hex.EncodeToString(sum[:8]),
		FingerprintKey: program.Project + ":" + program.KeyFingerprint,
		AdoptKey:       program.Project + ":" + program.KeyAdopt,
		StackConfig:    v.stackConfig,
		Existing: func(ctx context.Context, a targets.Account, cfg aws.Config) ([]string, error) {
			return v.existing(ctx, a, cfg, args.Params)
		},
	}
	dep.Applied = func(a targets.Account) (*Applied, error) { return v.applied(a, dep.Version, specJSON) }
	if args.AccountParams == nil && len(v.args.Secret) == 0 {
		return dep, nil
	}
	dep.SecretConfig = v.secretConfig
	dep.Existing = func(ctx context.Context, a targets.Account, cfg aws.Config) ([]string, error) {
		given, err := v.given(a.ID)
		if err != nil {
			// StackConfig reports it as the account's failure, before anything is created.
			return nil, nil
		}
		// The account's own values pass the same checks as the run's before IAM is read.
		if err := v.check(given); err != nil {
			return nil, err
		}
		return v.existing(ctx, a, cfg, given)
	}
	return dep, nil
}

// StateDeployment is the vendor deployment for operations that read or delete state and
// never run the program with a spec: status, handoff, destroy.
func StateDeployment() Deployment {
	return Deployment{Project: program.Project, Program: program.Run, NeedsAWSPlugin: true}
}

// vendorDeployment is what VendorDeployment's functions share: the arguments, with the spec
// loaded and its file path made absolute.
type vendorDeployment struct {
	args     VendorArgs
	spec     *vendors.VendorSpec
	specFile string
}

func newVendorDeployment(args VendorArgs) (*vendorDeployment, error) {
	switch {
	case args.Vendor == "" && args.SpecFile == "":
		return nil, &SpecError{errors.New("VendorArgs: Vendor or SpecFile is required: a preset's name, or the spec file the program reads")}
	case args.Vendor != "" && args.SpecFile != "":
		return nil, &SpecError{errors.New("VendorArgs: Vendor and SpecFile are both set: choose one")}
	}
	v := &vendorDeployment{args: args, spec: args.Spec}
	if v.spec == nil {
		spec, err := vendors.Select(args.Vendor, args.SpecFile)
		if err != nil {
			return nil, &SpecError{err}
		}
		v.spec = spec
	}
	// A parameter the spec marks secret is kept encrypted in state whoever gives its value.
	secret := map[string]bool{}
	for name, on := range args.Secret {
		secret[name] = on
	}
	for _, p := range v.spec.Parameters {
		if p.Secret {
			secret[p.Name] = true
		}
	}
	v.args.Secret = secret
	if args.SpecFile != "" {
		abs, err := filepath.Abs(args.SpecFile)
		if err != nil {
			return nil, err
		}
		v.specFile = abs
	}
	return v, nil
}

// check resolves and renders the spec with params for a placeholder account and lints it.
func (v *vendorDeployment) check(params map[string]any) error {
	if _, err := v.spec.ResolveParams(params); err != nil {
		return &SpecError{err}
	}
	if _, err := render.Render(v.spec, render.Options{AccountID: placeholderAccount, Region: v.args.Region, Params: params, Tags: v.args.Tags}); err != nil {
		return &SpecError{err}
	}
	findings, err := lint.CheckSpec(v.spec, params)
	if err != nil {
		return &SpecError{err}
	}
	var errs []lint.Finding
	for _, f := range findings {
		if f.Severity == lint.Error {
			errs = append(errs, f)
		}
	}
	if len(errs) > 0 {
		return &LintError{Findings: errs, File: v.args.SpecFile}
	}
	return nil
}

// given is an account's parameter values to deploy with, or the error that fails it.
func (v *vendorDeployment) given(accountID string) (map[string]any, error) {
	if v.args.AccountParams == nil {
		return v.args.Params, nil
	}
	return v.args.AccountParams(accountID)
}

// config is an account's stack config with its params object in it, and whether that object
// holds a secret value.
func (v *vendorDeployment) config(a targets.Account) (map[string]string, bool, error) {
	given, err := v.given(a.ID)
	if err != nil {
		return nil, false, err
	}
	kv, err := program.Config{Vendor: v.args.Vendor, SpecFile: v.specFile, Params: given, AccountID: a.ID, Tags: v.args.Tags}.StackConfig()
	return kv, v.anySecret(given), err
}

var paramsKey = program.Project + ":" + program.KeyParams

// stackConfig is the account's config stored in clear: without the params object when it
// holds a secret (secretConfig has it then).
func (v *vendorDeployment) stackConfig(a targets.Account) (map[string]string, error) {
	kv, secret, err := v.config(a)
	if err == nil && secret {
		delete(kv, paramsKey)
	}
	return kv, err
}

// secretConfig is the account's params object when it holds a secret value, else nothing.
func (v *vendorDeployment) secretConfig(a targets.Account) (map[string]string, error) {
	kv, secret, err := v.config(a)
	if err != nil || !secret || kv[paramsKey] == "" {
		return nil, err
	}
	return map[string]string{paramsKey: kv[paramsKey]}, nil
}

// applied is what an update of account a applies, for its record; the caller seals it.
func (v *vendorDeployment) applied(a targets.Account, version string, spec []byte) (*Applied, error) {
	given, err := v.given(a.ID)
	if err != nil {
		return nil, err
	}
	ap := &Applied{Program: v.args.Version, Version: version, Vendor: v.args.Vendor, Spec: spec, Params: given, Tags: v.args.Tags, Region: v.args.Region}
	if v.anySecret(given) {
		for _, name := range slices.Sorted(maps.Keys(v.args.Secret)) {
			if v.args.Secret[name] {
				ap.Secret = append(ap.Secret, name)
			}
		}
	}
	return ap, nil
}

// anySecret reports whether given holds a non-empty value of a secret parameter.
func (v *vendorDeployment) anySecret(given map[string]any) bool {
	for name := range v.args.Secret {
		if val, ok := given[name]; ok && fmt.Sprint(val) != "" {
			return true
		}
	}
	return false
}

// existing lists what the spec would create in the account that already exists there, read
// as verify reads it. What IAM cannot change in place blocks adoption: an import would need a
// replacement, which Pulumi refuses for a resource it is importing.
func (v *vendorDeployment) existing(ctx context.Context, a targets.Account, cfg aws.Config, params map[string]any) ([]string, error) {
	want, err := render.Render(v.spec, render.Options{AccountID: a.ID, Region: v.args.Region, Params: params, Tags: v.args.Tags})
	if err != nil {
		return nil, err
	}
	got, err := snapshot.Take(ctx, iam.NewFromConfig(cfg), a.ID, snapshot.NamesOf(want))
	if err != nil {
		return nil, err
	}
	var out, blocked []string
	for _, n := range slices.Sorted(maps.Keys(got.Roles)) {
		out = append(out, "role/"+n)
		if w, g := want.Roles[n], got.Roles[n]; w.Path != g.Path {
			blocked = append(blocked, fmt.Sprintf("role/%s has path %s where the spec has %s", n, g.Path, w.Path))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(got.Policies)) {
		out = append(out, "policy/"+n)
		w, g := want.Policies[n], got.Policies[n]
		if w.Path != g.Path {
			blocked = append(blocked, fmt.Sprintf("policy/%s has path %s where the spec has %s", n, g.Path, w.Path))
		}
		if w.Description != g.Description {
			blocked = append(blocked, fmt.Sprintf("policy/%s has description %q where the spec has %q", n, g.Description, w.Description))
		}
	}
	if len(blocked) > 0 {
		return nil, fmt.Errorf("cannot adopt what exists: %s; IAM cannot change a policy's description or an entity's path, "+
			"so delete or rename these (or change the spec to match), then run up again", strings.Join(blocked, "; "))
	}
	return out, nil
}
