package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/components/program"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/params"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// paramSourceFlags choose where each account's own parameter values come from (see package
// rollout/params for the precedence).
type paramSourceFlags struct {
	File           string
	FromTag        []string
	FromCommand    []string
	CommandTimeout time.Duration
	Secret         []string
}

func (f *paramSourceFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.File, "params-file", "", "per-account parameter values: YAML/JSON {\"111122223333\": {external_id: ...}} or CSV id,external_id,...")
	fl.StringArrayVar(&f.FromTag, "param-from-tag", nil, "take parameter NAME from each account's Organizations tag TAGKEY: NAME=TAGKEY (repeatable)")
	fl.StringArrayVar(&f.FromCommand, "param-from-command", nil, "take parameter NAME from a command's stdout, run once per account with the account ID as last argument, no shell: NAME=CMD (repeatable)")
	fl.DurationVar(&f.CommandTimeout, "param-command-timeout", params.DefaultCommandTimeout, "time limit of one --param-from-command run")
	fl.StringArrayVar(&f.Secret, "secret-param", nil, "treat parameter NAME as a secret: stored encrypted in stack config, masked in render and plan output (repeatable)")
}

// set reports whether any per-account source or secret was asked for.
func (f *paramSourceFlags) set() bool {
	return f != nil && (f.File != "" || len(f.FromTag) > 0 || len(f.FromCommand) > 0 || len(f.Secret) > 0)
}

// sources parses the flags and checks them against the spec: every problem is a usage error.
func (f *paramSourceFlags) sources(spec *vendors.VendorSpec) (params.Sources, map[string]bool, error) {
	s := params.Sources{Tags: map[string]string{}, Commands: map[string]params.Command{}}
	secret := map[string]bool{}
	if f == nil {
		return s, secret, nil
	}
	if f.CommandTimeout <= 0 {
		return s, nil, usagef("--param-command-timeout %s: want a positive duration such as 30s", f.CommandTimeout)
	}
	s.Timeout = f.CommandTimeout
	for _, kv := range f.FromTag {
		name, key, err := params.ParseTag(kv)
		if err != nil {
			return s, nil, asUsage(err)
		}
		if _, dup := s.Tags[name]; dup {
			return s, nil, usagef("--param-from-tag %s is given twice", name)
		}
		s.Tags[name] = key
	}
	for _, kv := range f.FromCommand {
		c, err := params.ParseCommand(kv)
		if err != nil {
			return s, nil, asUsage(err)
		}
		if _, dup := s.Commands[c.Param]; dup {
			return s, nil, usagef("--param-from-command %s is given twice", c.Param)
		}
		s.Commands[c.Param] = c
	}
	if f.File != "" {
		file, err := params.LoadFile(f.File)
		if err != nil {
			return s, nil, asUsage(err)
		}
		s.File = file
	}
	if err := s.Check(spec); err != nil {
		return s, nil, asUsage(err)
	}
	for _, p := range spec.Parameters {
		if p.Secret {
			secret[p.Name] = true
		}
	}
	for _, name := range f.Secret {
		name = strings.TrimSpace(name)
		if _, ok := spec.Param(name); !ok {
			return s, nil, usagef("--secret-param %s: vendor %s has no such parameter (rollout vendors show %s lists them)", name, spec.Name, spec.Name)
		}
		secret[name] = true
	}
	s.Secret = secret
	return s, secret, nil
}

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
	for _, k := range program.SortedKeys(given) {
		vf.Params = append(vf.Params, k+"="+fmt.Sprint(given[k]))
	}
	return &vf, nil
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
	spec, fleet, err := vf.load()
	if err != nil {
		return nil, err
	}
	src, secret, err := vf.perAccount.sources(spec)
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
		all, err := targets.LoadAccountsFile(ff.targets.AccountsFile)
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

// deployment is rollout.VendorDeployment with each account's own values: its stack config,
// the secrets among them, and the look-up of existing resources, which names per account.
// rollout.ErrNoAccountResolved when every account failed its per-account values.
func (p *fleetParams) deployment(region string) (rollout.Deployment, error) {
	// A run in which every account failed its own values ends as failed accounts (exit 1,
	// each saying why) before any flag that only the deployment reads (--tag) is looked at.
	if !p.anyResolved() {
		return rollout.Deployment{}, rollout.ErrNoAccountResolved
	}
	tags, err := p.vf.tags()
	if err != nil {
		return rollout.Deployment{}, err
	}
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{
		Vendor: p.vf.Vendor, SpecFile: p.vf.SpecFile, Spec: p.spec, Params: p.fleet, Tags: tags, Region: region, Version: version,
		AccountParams: p.given, Accounts: p.order, Secret: p.secret,
	})
	return dep, deploymentError(err)
}

// printParams shows each account's own values and their source, secrets masked, and the
// accounts whose values failed.
func (p *fleetParams) printParams(w io.Writer) {
	if p == nil || p.accounts == nil {
		return
	}
	rows := 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tPARAMETER\tVALUE\tSOURCE")
	for _, a := range p.order {
		acct := p.accounts[a.ID]
		if acct == nil {
			continue
		}
		for _, name := range program.SortedKeys(acct.Values) {
			v := acct.Values[name]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, name, params.Shown(name, v, p.secret), v.Source)
			rows++
		}
		if acct.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\terror: %s\n", a.ID, acct.Err)
			rows++
		}
	}
	if rows == 0 {
		return
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// shownParam is a value as params.json shows it: secrets masked, with its source.
type shownParam struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

type shownAccount struct {
	AccountID string                `json:"accountId"`
	Params    map[string]shownParam `json:"params"`
	Error     string                `json:"error,omitempty"`
}

func (p *fleetParams) shown() []shownAccount {
	out := []shownAccount{}
	if p == nil || p.accounts == nil {
		return out
	}
	for _, a := range p.order {
		acct := p.accounts[a.ID]
		if acct == nil {
			continue
		}
		s := shownAccount{AccountID: a.ID, Params: map[string]shownParam{}}
		for name, v := range acct.Values {
			s.Params[name] = shownParam{Value: params.Shown(name, v, p.secret), Source: v.Source}
		}
		if acct.Err != nil {
			s.Error = acct.Err.Error()
		}
		out = append(out, s)
	}
	return out
}

// writeParamsFile records the per-account values (masked) beside the run's reports.
func (p *fleetParams) writeParamsFile(runDir string) error {
	if p == nil || p.accounts == nil {
		return nil
	}
	b, err := json.MarshalIndent(p.shown(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(runDir, "params.json"), append(b, '\n'), 0o600)
}

// accountLog appends to an account's log in the run directory, where the rollout's own
// engine log for the account follows.
func accountLog(runDir string) func(string) io.Writer {
	return func(id string) io.Writer { return appendFile(filepath.Join(runDir, id+".log")) }
}

type appendFile string

func (f appendFile) Write(b []byte) (int, error) {
	if err := os.MkdirAll(filepath.Dir(string(f)), 0o755); err != nil {
		return 0, err
	}
	fh, err := os.OpenFile(string(f), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	return fh.Write(b)
}

// prefixedLog writes each account's command stderr to w, every line prefixed with the
// account, for commands without a run directory (render, verify).
func prefixedLog(w io.Writer) func(string) io.Writer {
	var mu sync.Mutex
	return func(id string) io.Writer {
		return writerFunc(func(b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, line := range strings.SplitAfter(string(b), "\n") {
				if line != "" {
					if _, err := fmt.Fprintf(w, "%s: %s", id, line); err != nil {
						return 0, err
					}
				}
			}
			if !bytes.HasSuffix(b, []byte("\n")) && len(b) > 0 {
				fmt.Fprintln(w)
			}
			return len(b), nil
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// oneAccountParams resolves one account's values for render and snapshot, where no discovery
// ran: the account's tags are read from Organizations only for --param-from-tag (from the
// accounts file's tags column with --accounts-file), and its param: columns come from
// --accounts-file when given. Other accounts of the parameters file are of no concern here.
func oneAccountParams(ctx context.Context, vf *vendorFlags, accountID, accountsFile, region string, stderr io.Writer) (*fleetParams, error) {
	a := targets.Account{ID: accountID}
	if accountsFile != "" {
		all, err := targets.LoadAccountsFile(accountsFile)
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

// maskSecrets replaces secret values in rendered JSON with the mask.
func maskSecrets(out []byte, secrets []string) []byte {
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if len(s) < 2 {
			continue
		}
		enc, err := json.Marshal(s)
		if err != nil {
			continue
		}
		out = bytes.ReplaceAll(out, enc[1:len(enc)-1], []byte(params.Mask))
	}
	return out
}
