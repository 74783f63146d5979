package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/verify"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

type verifyInput struct {
	vendor vendorFlags
	fleet  fleetFlags
}

func newVerifyCmd() *cobra.Command {
	in := &verifyInput{}
	c := &cobra.Command{
		Use:   "verify --vendor NAME|--spec FILE [--param k=v ...] [--params-file F] [--param-from-tag k=TAG] [--param-from-command k=CMD] [filters]",
		Short: "Compare what the spec grants with what each live account grants; exit 1 on any drift",
		Long: `verify renders the vendor spec for every target account and compares it with the live IAM
roles and policies, read through the execution role. It needs no Pulumi state, so it also
audits accounts onboarded by console, CloudFormation or Terraform. Each account is rendered
with its own parameter values, from the same sources as up.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runVerify(c, in) },
	}
	in.vendor.register(c)
	in.vendor.registerPerAccount(c)
	in.fleet.register(c)
	return c
}

// AccountVerification is one account's verify outcome.
type AccountVerification struct {
	AccountID string           `json:"accountId"`
	Name      string           `json:"name,omitempty"`
	Findings  []verify.Finding `json:"findings"`
	Error     string           `json:"error,omitempty"`
}

func runVerify(c *cobra.Command, in *verifyInput) error {
	ctx := c.Context()
	if err := in.fleet.check(); err != nil {
		return err
	}
	if _, _, err := in.vendor.load(ctx); err != nil {
		return err
	}
	base, err := in.fleet.aws(ctx)
	if err != nil {
		return err
	}
	accounts, err := in.fleet.targetAccounts(ctx)
	if err != nil {
		return err
	}
	// Each account is compared with the spec rendered for its own values; a command that
	// fails for one account makes that account's result an error.
	p, err := resolveParams(ctx, &in.vendor, &in.fleet, accounts, true, prefixedLog(c.ErrOrStderr()))
	if err != nil {
		return err
	}
	reader := liveReader{base: base, role: in.fleet.role()}
	out := verifyAccounts(ctx, p, reader, accounts, in.fleet.targets.Region, in.fleet.parallel(false))

	drifted, failed := 0, 0
	for _, v := range out {
		if v.Error != "" {
			failed++
		} else if len(v.Findings) > 0 {
			drifted++
		}
	}
	// Findings quote trust policy values; a secret parameter's value is masked in them.
	var buf bytes.Buffer
	w := &buf
	defer func() {
		var secrets []string
		for _, a := range accounts {
			if given, err := p.given(a.ID); err == nil {
				secrets = append(secrets, p.secretValues(given)...)
			}
		}
		_, _ = c.OutOrStdout().Write(maskSecrets(buf.Bytes(), secrets))
	}()
	if in.fleet.Output == "json" {
		if err := writeJSON(w, out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tRESOURCE\tDRIFT\tDETAIL")
		for _, v := range out {
			if v.Error != "" {
				fmt.Fprintf(tw, "%s\t-\terror\t%s\n", v.AccountID, v.Error)
				continue
			}
			if len(v.Findings) == 0 {
				fmt.Fprintf(tw, "%s\t-\tnone\tmatches the spec\n", v.AccountID)
			}
			for _, f := range v.Findings {
				detail := f.Detail
				if len(f.Want) > 0 {
					detail += "; want " + strings.Join(f.Want, ", ")
				}
				if len(f.Got) > 0 {
					detail += "; found " + strings.Join(f.Got, ", ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.AccountID, f.Resource, f.Kind, detail)
			}
		}
		_ = tw.Flush()
		fmt.Fprintf(w, "\n%d accounts: %d match, %d drifted, %d could not be read\n", len(out), len(out)-drifted-failed, drifted, failed)
	}
	if drifted+failed > 0 {
		return failedError{msg: fmt.Sprintf("drift in %d accounts, %d unreadable", drifted, failed)}
	}
	return nil
}

// verifyAccounts compares each account's live IAM with the spec rendered for its own values,
// sorted by account ID; an account that cannot be rendered or read has an Error.
func verifyAccounts(ctx context.Context, p *fleetParams, reader liveReader, accounts []targets.Account, region string, parallel int) []AccountVerification {
	out := make([]AccountVerification, len(accounts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var mu sync.Mutex
	for i, a := range accounts {
		g.Go(func() error {
			v := AccountVerification{AccountID: a.ID, Name: a.Name, Findings: []verify.Finding{}}
			vf, err := p.flagsFor(a.ID)
			var want *iamstate.Account
			if err == nil {
				want, err = renderFor(vf, a.ID, region, reader.kmsKeyARN(gctx, a.ID))
			}
			if err == nil {
				var got *iamstate.Account
				if got, err = reader.snapshot(gctx, want); err == nil {
					v.Findings = verify.Compare(want, got)
				}
			}
			if err != nil {
				v.Error = err.Error()
			}
			mu.Lock()
			out[i] = v
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].AccountID < out[j].AccountID })
	return out
}
