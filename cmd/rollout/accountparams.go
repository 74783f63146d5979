package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/byoc-access/byoc-access/rollout/params"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// fleetParams are the parameter values of every account of a run: the fleet-wide --param
// values, and each account's own values when there are per-account sources.
type fleetParams struct {
	vf     *vendorFlags
	spec   *vendors.VendorSpec
	fleet  map[string]any
	secret map[string]bool
	// accounts are the accounts' own values, by account ID; nil without per-account sources.
	accounts map[string]*params.Account
	// order is the accounts in run order, for display.
	order []targets.Account
}

// perAccountWanted says whether a command must resolve per-account values: a source flag is
// set, or the accounts file has param: columns.
func perAccountWanted(vf *vendorFlags, accountsFile string) bool {
	if vf.perAccount.set() {
		return true
	}
	if accountsFile == "" {
		return false
	}
	accts, err := targets.LoadAccountsFile(accountsFile)
	if err != nil {
		return false // reported where the accounts are resolved
	}
	for _, a := range accts {
		if len(a.Params) > 0 {
			return true
		}
	}
	return false
}

// resolveParams resolves every target account's parameter values before anything is
// deployed: bad values known up front are one usage error listing them all; each command
// runs once per account that needs it, its stderr going to log(account). checkFile checks
// that every account of the parameters file exists (fleet commands).
func resolveParams(ctx context.Context, vf *vendorFlags, ff *fleetFlags, accounts []targets.Account, checkFile bool, log func(string) io.Writer) (*fleetParams, error) {
	spec, fleet, err := vf.load(ctx)
	if err != nil {
		return nil, err
	}
	src, secret, err := vf.perAccount.sources(ctx, spec)
	if err != nil {
		return nil, err
	}
	p := &fleetParams{vf: vf, spec: spec, fleet: fleet, secret: secret, order: accounts}
	own := false
	for _, a := range accounts {
		own = own || len(a.Params) > 0
	}
	if !vf.perAccount.set() && !own {
		// Fleet-wide values only: checked in full, as without per-account sources.
		if _, err := spec.ResolveParams(fleet); err != nil {
			return nil, asUsage(err)
		}
		return p, nil
	}
	if src.File != nil && checkFile {
		if err := checkFileAccounts(ctx, src.File, ff, accounts); err != nil {
			return nil, err
		}
	}
	if len(src.Tags) > 0 && ff.targets.AccountsFile == "" {
		cfg, err := ff.aws(ctx)
		if err != nil {
			return nil, err
		}
		// Discovery reads tags only for a tag filter; the accounts are ours to fill in.
		accounts = append([]targets.Account(nil), accounts...)
		if err := targets.ReadTags(ctx, organizations.NewFromConfig(cfg), accounts, targets.DefaultParallel); err != nil {
			return nil, fmt.Errorf("read account tags for --param-from-tag: %w", err)
		}
	}
	resolved, err := params.Resolve(ctx, spec, fleet, accounts, src, params.Options{Parallel: ff.parallel(false), Log: log, Region: ff.targets.Region, Partition: ff.role().Partition})
	var ue *params.UsageError
	if errors.As(err, &ue) {
		return nil, asUsage(err)
	}
	if err != nil {
		return nil, err
	}
	p.accounts = resolved
	return p, nil
}

// oneAccountParams resolves one account's values for render and snapshot, where no discovery
// ran: the account's tags are read from Organizations only for --param-from-tag (from the
// accounts file's tags column with --accounts-file), and its param: columns come from
// --accounts-file when given. Other accounts of the parameters file are of no concern here.
func oneAccountParams(ctx context.Context, vf *vendorFlags, accountID, accountsFile, region string, stderr io.Writer) (*fleetParams, error) {
	a := targets.Account{ID: accountID}
	if accountsFile != "" {
		all, err := targets.LoadAccountsFileContext(ctx, accountsFile)
		if err != nil {
			return nil, asUsage(err)
		}
		found := false
		for _, x := range all {
			if x.ID == accountID {
				a, found = x, true
			}
		}
		if !found {
			return nil, usagef("account %s is not in the accounts file %s", accountID, accountsFile)
		}
	}
	ff := &fleetFlags{Parallel: 1}
	ff.targets.AccountsFile, ff.targets.Region = accountsFile, region
	return resolveParams(ctx, vf, ff, []targets.Account{a}, false, prefixedLog(stderr))
}

// checkFileAccounts fails on a parameters file account that does not exist: not among the
// targets, and not in the organization (or the accounts file) at all. Accounts that exist
// but are outside this run's filters or shard are fine, so one file can serve every shard.
func checkFileAccounts(ctx context.Context, f *params.File, ff *fleetFlags, accounts []targets.Account) error {
	inRun := map[string]bool{}
	for _, a := range accounts {
		inRun[a.ID] = true
	}
	var outside []string
	for _, id := range f.IDs() {
		if !inRun[id] {
			outside = append(outside, id)
		}
	}
	if len(outside) == 0 {
		return nil
	}
	known := map[string]bool{}
	where := "the organization"
	if ff.targets.AccountsFile != "" {
		where = "the accounts file " + ff.targets.AccountsFile
		all, err := targets.LoadAccountsFileContext(ctx, ff.targets.AccountsFile)
		if err != nil {
			return asUsage(err)
		}
		for _, a := range all {
			known[a.ID] = true
		}
	} else {
		cfg, err := ff.aws(ctx)
		if err != nil {
			return err
		}
		if known, err = targets.AccountIDs(ctx, organizations.NewFromConfig(cfg)); err != nil {
			return fmt.Errorf("check the accounts of --params-file: %w", err)
		}
	}
	var unknown []string
	for _, id := range outside {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return usagef("--params-file %s lists %s, not in %s: fix the account ID or remove the entry", f.Path, plural(unknown, "account"), where)
	}
	return nil
}

func plural(ids []string, noun string) string {
	if len(ids) == 1 {
		return noun + " " + ids[0]
	}
	return noun + "s " + strings.Join(ids, ", ")
}

// given is an account's parameter values to deploy with, or the error that fails it.
func (p *fleetParams) given(accountID string) (map[string]any, error) {
	if p.accounts == nil {
		return p.fleet, nil
	}
	a, ok := p.accounts[accountID]
	if !ok {
		// Accounts come from the same discovery; one that was not resolved is a bug here, and
		// deploying it with fleet values only would silently drop its own.
		return nil, fmt.Errorf("no per-account parameters were resolved for account %s", accountID)
	}
	if a.Err != nil {
		return nil, a.Err
	}
	return a.Given(p.fleet), nil
}

// anyResolved reports whether some account of the run has usable parameter values.
func (p *fleetParams) anyResolved() bool {
	for _, a := range p.order {
		if _, err := p.given(a.ID); err == nil {
			return true
		}
	}
	return false
}

// flagsFor is vendorFlags with the account's values as --param flags, so that the checks and
// the program of a single-account command see exactly what the account deploys with.
func (p *fleetParams) flagsFor(accountID string) (*vendorFlags, error) {
	given, err := p.given(accountID)
	if err != nil {
		return nil, err
	}
	vf := *p.vf
	vf.perAccount = nil
	vf.Params = make([]string, 0, len(given))
	for _, k := range slices.Sorted(maps.Keys(given)) {
		vf.Params = append(vf.Params, k+"="+fmt.Sprint(given[k]))
	}
	return &vf, nil
}

// secretValues are the non-empty values of secret parameters among given, for masking.
func (p *fleetParams) secretValues(given map[string]any) []string {
	var out []string
	for name := range p.secret {
		if v := fmt.Sprint(given[name]); given[name] != nil && v != "" {
			out = append(out, v)
		}
	}
	return out
}
