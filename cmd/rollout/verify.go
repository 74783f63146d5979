package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/byoc-access/byoc-access/iamstate"
	"github.com/byoc-access/byoc-access/iamstate/render"
	"github.com/byoc-access/byoc-access/iamstate/snapshot"
	"github.com/byoc-access/byoc-access/iamstate/verify"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// liveReader reads an account's IAM through the execution role.
type liveReader struct {
	base aws.Config
	role access.ExecutionRole
	// direct reads with the base credentials, for an account they already act in.
	direct bool
}

func (l liveReader) iam(accountID string) *iam.Client {
	if l.direct {
		return iam.NewFromConfig(l.base)
	}
	return iam.NewFromConfig(l.role.Credentials(l.base, sts.NewFromConfig(l.base), l.role.Partition, accountID))
}

// kmsKeyARN resolves a KMS key ID or alias (alias/aws/ebs) to its key ARN in the account, as
// the vendor's module does at deploy time, so verify compares real ARNs; "" leaves render's
// placeholder when the key cannot be read.
func (l liveReader) kmsKeyARN(ctx context.Context, accountID string) func(string) string {
	cfg := l.base
	if !l.direct {
		cfg = l.role.Credentials(l.base, sts.NewFromConfig(l.base), l.role.Partition, accountID)
	}
	client := kms.NewFromConfig(cfg)
	return func(keyID string) string {
		out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
		if err != nil || out.KeyMetadata == nil {
			return ""
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
}

func (l liveReader) snapshot(ctx context.Context, want *iamstate.Account) (*iamstate.Account, error) {
	got, err := snapshot.Take(ctx, l.iam(want.AccountID), want.AccountID, snapshot.NamesOf(want))
	if err != nil && access.IsAccessDenied(err) {
		return nil, fmt.Errorf("account %s: read IAM through %s: %s", want.AccountID, l.role.RoleARN(l.role.Partition, want.AccountID), access.Reason(err))
	}
	return got, err
}

type snapshotInput struct {
	vendor    vendorFlags
	fleet     fleetFlags
	AccountID string
	Direct    bool
}

func newSnapshotCmd() *cobra.Command {
	in := &snapshotInput{}
	c := &cobra.Command{
		Use:   "snapshot --account-id ID --vendor NAME|--spec FILE [--param k=v ...]",
		Short: "Print the live IAM state of the vendor's roles and policies in an account, as render prints it",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runSnapshot(c, in) },
	}
	in.vendor.register(c)
	in.vendor.registerPerAccount(c)
	in.fleet.register(c)
	c.Flags().StringVar(&in.AccountID, "account-id", "", "the account to read")
	c.Flags().BoolVar(&in.Direct, "direct", false, "read with the current credentials instead of assuming the execution role")
	return c
}

func runSnapshot(c *cobra.Command, in *snapshotInput) error {
	ctx := c.Context()
	if err := targets.ValidateAccountID(in.AccountID); err != nil {
		return usagef("--account-id: %v", err)
	}
	if err := in.fleet.check(); err != nil {
		return err
	}
	base, err := in.fleet.aws(ctx)
	if err != nil {
		return err
	}
	reader := liveReader{base: base, role: in.fleet.role(), direct: in.Direct}
	vf, err := oneAccountFlags(ctx, &in.vendor, in.AccountID, in.fleet.targets.AccountsFile, in.fleet.targets.Region, c.ErrOrStderr())
	if err != nil {
		return err
	}
	want, err := renderFor(vf, in.AccountID, in.fleet.targets.Region, reader.kmsKeyARN(ctx, in.AccountID))
	if err != nil {
		return err
	}
	got, err := reader.snapshot(ctx, want)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(got)
}

// oneAccountFlags are the vendor flags with one account's own values as --param flags.
func oneAccountFlags(ctx context.Context, vf *vendorFlags, accountID, accountsFile, region string, stderr io.Writer) (*vendorFlags, error) {
	p, err := oneAccountParams(ctx, vf, accountID, accountsFile, region, stderr)
	if err != nil {
		return nil, err
	}
	return p.flagsFor(accountID)
}

func renderFor(vf *vendorFlags, accountID, region string, kmsKeyARN func(string) string) (*iamstate.Account, error) {
	spec, params, err := vf.load()
	if err != nil {
		return nil, err
	}
	tags, err := vf.tags()
	if err != nil {
		return nil, err
	}
	lookup := kmsKeyARN
	if lookup != nil {
		// Fall back to render's visible placeholder when the account's key cannot be read.
		lookup = func(keyID string) string {
			if arn := kmsKeyARN(keyID); arn != "" {
				return arn
			}
			return fmt.Sprintf("arn:aws:kms:%s:%s:key/LOOKUP(%s)", region, accountID, keyID)
		}
	}
	state, err := render.Render(spec, render.Options{AccountID: accountID, Region: region, Params: params, Tags: tags, KMSKeyARN: lookup})
	if err != nil {
		return nil, asUsage(err)
	}
	return state, nil
}

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
		Args: cobra.NoArgs,
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
	if _, _, err := in.vendor.load(); err != nil {
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
	out := make([]AccountVerification, len(accounts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(in.fleet.parallel(false))
	var mu sync.Mutex
	for i, a := range accounts {
		g.Go(func() error {
			v := AccountVerification{AccountID: a.ID, Name: a.Name, Findings: []verify.Finding{}}
			vf, err := p.flagsFor(a.ID)
			var want *iamstate.Account
			if err == nil {
				want, err = renderFor(vf, a.ID, in.fleet.targets.Region, reader.kmsKeyARN(gctx, a.ID))
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
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
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
