package params

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/vendors"
)

// Value is one account's value of a parameter and where it came from.
type Value struct {
	Value string `json:"value"`
	// Source says where the value came from, for errors and for render and plan output:
	// "params file p.yaml (line 4)", "accounts file column param:external_id",
	// "tag datadog-external-id", "command get-id".
	Source string `json:"source"`
}

// Sources are the per-account value sources of one run.
type Sources struct {
	// File is the --params-file, or nil.
	File *File
	// Tags maps a parameter to the account tag that holds its value.
	Tags map[string]string
	// Commands maps a parameter to the command that prints its value.
	Commands map[string]Command
	// Timeout bounds each command run (DefaultCommandTimeout when 0).
	Timeout time.Duration
	// Secret names parameters whose values errors must not quote.
	Secret map[string]bool
}

// Names are the parameters the flags' sources set (the accounts file may set more).
func (s Sources) Names() []string {
	set := map[string]bool{}
	if s.File != nil {
		for _, vals := range s.File.Accounts {
			for k := range vals {
				set[k] = true
			}
		}
	}
	for k := range s.Tags {
		set[k] = true
	}
	for k := range s.Commands {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Check verifies that every parameter a source names is one of the spec's, so that a typo in
// a flag or a file fails before any account is read.
func (s Sources) Check(spec *vendors.VendorSpec) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.Tags)) {
		if _, ok := spec.Param(name); !ok {
			errs = append(errs, fmt.Errorf("--param-from-tag %s=%s: %w", name, s.Tags[name], unknownParam(spec, name)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Commands)) {
		if _, ok := spec.Param(name); !ok {
			errs = append(errs, fmt.Errorf("--param-from-command %s=%s: %w", name, s.Commands[name], unknownParam(spec, name)))
		}
	}
	if s.File != nil {
		for _, id := range s.File.order {
			for _, name := range slices.Sorted(maps.Keys(s.File.Accounts[id])) {
				if _, ok := spec.Param(name); !ok {
					errs = append(errs, fmt.Errorf("%s: %w", s.File.Accounts[id][name].Source, unknownParam(spec, name)))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func unknownParam(spec *vendors.VendorSpec, name string) error {
	names := make([]string, len(spec.Parameters))
	for i, p := range spec.Parameters {
		names[i] = p.Name
	}
	return fmt.Errorf("vendor %s has no parameter %q; it takes: %s", spec.Name, name, strings.Join(names, ", "))
}

// Account is one account's per-account values once resolved.
type Account struct {
	// Values are the account's own values (not fleet-wide ones or defaults), by parameter.
	Values map[string]Value
	// Err, when set, fails this account only: its command failed or printed a value the spec
	// rejects. Nothing may be deployed into the account.
	Err error
}

// Given merges fleet-wide values with the account's own, which win: the parameter values to
// deploy the account with.
func (a *Account) Given(fleet map[string]any) map[string]any {
	out := make(map[string]any, len(fleet)+len(a.Values))
	for k, v := range fleet {
		out[k] = v
	}
	for k, v := range a.Values {
		out[k] = v.Value
	}
	return out
}

// Options are what Resolve needs besides the sources.
type Options struct {
	// Parallel bounds the commands running at once (4 when 0).
	Parallel int
	// Log returns where a command's stderr goes for an account (the account's log); nil
	// discards it.
	Log func(accountID string) io.Writer
	// Region and Partition are the deployment's, for checking each account's complete values
	// against the whole spec (conditions such as requiredWhen, templates, IAM quotas).
	Region, Partition string
}

// UsageError is bad input found before anything ran: values that fail the spec, missing
// tags, unknown accounts. The rollout exits 2 on it.
type UsageError struct{ Problems []string }

func (e *UsageError) Error() string {
	const show = 20
	lines := e.Problems
	more := ""
	if len(lines) > show {
		more = fmt.Sprintf("\n  (and %d more)", len(lines)-show)
		lines = lines[:show]
	}
	if len(lines) == 1 {
		return "per-account parameters: " + lines[0]
	}
	return fmt.Sprintf("per-account parameters: %d problems:\n  %s%s", len(e.Problems), strings.Join(lines, "\n  "), more)
}

// Resolve finds every account's own parameter values. Values known up front are checked
// against the spec for every account first, and any problem is a *UsageError listing them
// all, before a single command runs. Commands then run once per account that needs them; a
// failure or an invalid value is recorded in that account's Err and the others go on.
func Resolve(ctx context.Context, spec *vendors.VendorSpec, fleet map[string]any, accounts []targets.Account, s Sources, o Options) (map[string]*Account, error) {
	out := make(map[string]*Account, len(accounts))
	need := make(map[string][]string, len(accounts))
	var problems []string
	for _, a := range accounts {
		vals, cmds, err := s.static(a, fleet)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		acct := &Account{Values: vals}
		out[a.ID] = acct
		need[a.ID] = cmds
		if err := check(spec, a.ID, acct, fleet, cmds, s.Secret, o); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, &UsageError{Problems: problems}
	}

	parallel := o.Parallel
	if parallel < 1 {
		parallel = 4
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var mu sync.Mutex
	for _, a := range accounts {
		names := need[a.ID]
		if len(names) == 0 {
			continue
		}
		acct := out[a.ID]
		g.Go(func() error {
			var logw io.Writer = io.Discard
			if o.Log != nil {
				if w := o.Log(a.ID); w != nil {
					logw = w
				}
			}
			for _, name := range names {
				c := s.Commands[name]
				v, err := c.Run(gctx, a, logw, s.Timeout)
				mu.Lock()
				if err != nil {
					acct.Err = err
				} else {
					acct.Values[name] = Value{Value: v, Source: "command " + c.Argv[0]}
				}
				mu.Unlock()
				if err != nil {
					return nil
				}
			}
			mu.Lock()
			defer mu.Unlock()
			acct.Err = check(spec, a.ID, acct, fleet, nil, s.Secret, o)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// check validates an account's merged values against the spec; later are parameters whose
// value a command has yet to print. The error names the account and the bad value's source.
func check(spec *vendors.VendorSpec, accountID string, a *Account, fleet map[string]any, later []string, secret map[string]bool, o Options) error {
	given := a.Given(fleet)
	err := spec.CheckParams(given, later)
	if err == nil && len(later) == 0 {
		// Every value is known: check them against the whole spec, as the program will, so
		// that a condition between parameters (a VPC ID required only for a restricted
		// policy) fails here rather than in the middle of a deploy. Key look-ups are the
		// account's to do at deploy time; a placeholder stands in.
		_, err = spec.Resolve(vendors.Target{AccountID: accountID, Region: o.Region, Partition: o.Partition,
			LookupKMSKeyARN: func(id string) (string, error) {
				return "arn:aws:kms:" + o.Region + ":" + accountID + ":key/LOOKUP", nil
			}}, given)
		if err != nil && len(a.Values) > 0 {
			var from []string
			for _, name := range slices.Sorted(maps.Keys(a.Values)) {
				from = append(from, name+" from "+a.Values[name].Source)
			}
			err = fmt.Errorf("%w (the account's own values: %s)", err, strings.Join(from, "; "))
		}
	}
	if err == nil {
		return nil
	}
	var pe *vendors.ParamError
	if !errors.As(err, &pe) {
		err = fmt.Errorf("account %s: %w", accountID, err)
		for name := range secret {
			if v := fmt.Sprint(given[name]); given[name] != nil && len(v) >= 2 && strings.Contains(err.Error(), v) {
				err = &maskedError{msg: strings.ReplaceAll(err.Error(), v, Mask), err: err}
			}
		}
		return err
	}
	if v, ok := a.Values[pe.Param]; ok {
		err = fmt.Errorf("account %s: parameter %q from %s: %w", accountID, pe.Param, v.Source, pe.Err)
	} else {
		err = fmt.Errorf("account %s: %w", accountID, err)
	}
	// A secret's value, even a wrong one, stays out of errors, reports and logs.
	if v := fmt.Sprint(given[pe.Param]); secret[pe.Param] && len(v) >= 2 && strings.Contains(err.Error(), v) {
		return &maskedError{msg: strings.ReplaceAll(err.Error(), v, Mask), err: pe}
	}
	return err
}

// maskedError is an error whose text has a secret value masked.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// static returns an account's values from files and tags, and the parameters a command must
// still provide.
func (s Sources) static(a targets.Account, fleet map[string]any) (map[string]Value, []string, error) {
	vals := map[string]Value{}
	if s.File != nil {
		for k, v := range s.File.Accounts[a.ID] {
			vals[k] = v
		}
	}
	for k, v := range a.Params {
		if _, set := vals[k]; !set {
			vals[k] = Value{Value: v, Source: "accounts file column " + targets.ParamColumnPrefix + k}
		}
	}
	var cmds []string
	for _, name := range slices.Sorted(maps.Keys(s.Tags)) {
		if _, set := vals[name]; set {
			continue
		}
		key := s.Tags[name]
		if v, ok := a.Tags[key]; ok && strings.TrimSpace(v) != "" {
			vals[name] = Value{Value: strings.TrimSpace(v), Source: "tag " + key}
			continue
		}
		if _, ok := s.Commands[name]; ok {
			continue // the command below provides it
		}
		if _, ok := fleet[name]; ok {
			continue // the fleet-wide --param is the explicit fallback
		}
		return nil, nil, fmt.Errorf("account %s has no tag %q (--param-from-tag %s=%s) and no other source sets %s: tag the account, list it in --params-file, or give a fleet-wide --param %s=VALUE",
			a.ID, key, name, key, name, name)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Commands)) {
		if _, set := vals[name]; !set {
			cmds = append(cmds, name)
		}
	}
	return vals, cmds, nil
}

// ParseTag parses NAME=TAGKEY.
func ParseTag(flag string) (param, key string, err error) {
	param, key, ok := strings.Cut(flag, "=")
	param, key = strings.TrimSpace(param), strings.TrimSpace(key)
	if !ok || param == "" || key == "" {
		return "", "", fmt.Errorf("--param-from-tag %q: want NAME=TAGKEY, e.g. external_id=datadog-external-id", flag)
	}
	return param, key, nil
}

// Mask is what secret values print as.
const Mask = "********"

// Shown is a value as render and plan print it: masked when the parameter is secret.
func Shown(name string, v Value, secret map[string]bool) string {
	if secret[name] {
		return Mask
	}
	return v.Value
}
