package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/byoc-access/byoc-access/rollout/params"
)

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
		for _, name := range slices.Sorted(maps.Keys(acct.Values)) {
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
