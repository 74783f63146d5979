package rollout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// AppliedKey groups accounts whose records can be deployed again by one deployment: the same
// spec, tags, region and secret parameters (each account keeps its own values).
func AppliedKey(a *Applied) string {
	var spec bytes.Buffer
	_ = json.Compact(&spec, a.Spec)
	b, _ := json.Marshal([]any{a.Vendor, spec.String(), a.Tags, a.Region, a.Secret})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// AppliedDeployment is the vendor deployment that applies again what ap records, to accounts
// whose records share its AppliedKey, each with its own values from params (by account ID).
// The program is this binary's (program is its version); the spec is the recorded one: the
// preset by name when this binary's preset is still the same, else the recorded spec written
// as a file into specDir, which must outlive the run.
func AppliedDeployment(ap *Applied, accounts []targets.Account, params map[string]map[string]any, specDir, program string) (Deployment, error) {
	spec, err := vendors.Load("recorded spec", ap.Spec)
	if err != nil {
		return Deployment{}, &SpecError{fmt.Errorf("the recorded spec: %w", err)}
	}
	args := VendorArgs{Spec: spec, Tags: ap.Tags, Region: ap.Region, Version: program, Accounts: accounts,
		AccountParams: func(id string) (map[string]any, error) {
			p, ok := params[id]
			if !ok {
				return nil, fmt.Errorf("account %s: no recorded parameter values", id)
			}
			return p, nil
		}}
	if len(ap.Secret) > 0 {
		args.Secret = map[string]bool{}
		for _, n := range ap.Secret {
			args.Secret[n] = true
		}
	}
	if same, _ := samePreset(ap); same {
		args.Vendor = ap.Vendor
	} else {
		if err := os.MkdirAll(specDir, 0o700); err != nil {
			return Deployment{}, fmt.Errorf("spec directory: %w", err)
		}
		args.SpecFile = filepath.Join(specDir, spec.Name+"-"+AppliedKey(ap)+".json")
		if err := os.WriteFile(args.SpecFile, ap.Spec, 0o600); err != nil {
			return Deployment{}, fmt.Errorf("write the recorded spec: %w", err)
		}
	}
	return VendorDeployment(args)
}

// samePreset says whether ap's spec is this binary's preset of the same name, so the stack
// config can name the preset as the update it returns to did.
func samePreset(ap *Applied) (bool, error) {
	if ap.Vendor == "" {
		return false, nil
	}
	p, err := vendors.Preset(ap.Vendor)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	// The record may have been re-indented (a run directory's previous.json).
	var recorded bytes.Buffer
	if err := json.Compact(&recorded, ap.Spec); err != nil {
		return false, err
	}
	return bytes.Equal(b, recorded.Bytes()), nil
}
