package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// targetFlags choose the accounts.
type targetFlags struct {
	OUs               []string
	Accounts          []string
	AccountTags       []string
	ExcludeAccounts   []string
	ExcludeOUs        []string
	IncludeManagement bool
	AccountsFile      string
	Region            string
}

func (f *targetFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.OUs, "ou", nil, "OU ID (ou-...) or path (Root/Workloads) to include, recursively (repeatable)")
	fl.StringArrayVar(&f.Accounts, "account", nil, "account ID to include (repeatable)")
	fl.StringArrayVar(&f.AccountTags, "account-tag", nil, "include accounts with this tag key=value (repeatable; all must match)")
	fl.StringArrayVar(&f.ExcludeAccounts, "exclude-account", nil, "account ID to leave out (repeatable)")
	fl.StringArrayVar(&f.ExcludeOUs, "exclude-ou", nil, "OU ID or path to leave out, recursively (repeatable)")
	fl.BoolVar(&f.IncludeManagement, "include-management", false, "act on the organization's management account too")
	fl.StringVar(&f.AccountsFile, "accounts-file", "", "CSV or YAML list of accounts, instead of reading AWS Organizations")
	fl.StringVar(&f.Region, "region", "us-east-1", "AWS region of the deployment and of the API calls")
}

func (f *targetFlags) filter() (targets.Filter, error) {
	// "" leaves the region to the AWS SDK's configuration; the flag's default is us-east-1.
	if _, err := validate.Region(f.Region); err != nil && f.Region != "" {
		return targets.Filter{}, usagef("--region: %v", err)
	}
	tags, err := parseKeyValues("--account-tag", f.AccountTags)
	if err != nil {
		return targets.Filter{}, err
	}
	flt := targets.Filter{
		OUs: f.OUs, Accounts: f.Accounts, AccountTags: tags, ExcludeAccounts: f.ExcludeAccounts,
		ExcludeOUs: f.ExcludeOUs, IncludeManagement: f.IncludeManagement,
	}
	if err := flt.Validate(); err != nil {
		return flt, asUsage(err)
	}
	if f.AccountsFile != "" {
		for _, ou := range append(append([]string{}, f.OUs...), f.ExcludeOUs...) {
			if strings.HasPrefix(ou, "ou-") || strings.HasPrefix(ou, "r-") {
				return flt, usagef("--accounts-file and --ou/--exclude-ou %s conflict: an accounts file has OU paths, not OU IDs; use a path such as Root/Workloads", ou)
			}
		}
		if f.IncludeManagement {
			return flt, usagef("--accounts-file and --include-management conflict: an accounts file does not say which account is the management account")
		}
	}
	return flt, nil
}

// resolve returns the target accounts: from the accounts file, or from Organizations.
func (f *targetFlags) resolve(ctx context.Context, cfg func() (aws.Config, error)) (targets.Result, error) {
	flt, err := f.filter()
	if err != nil {
		return targets.Result{}, err
	}
	if f.AccountsFile != "" {
		accts, err := targets.LoadAccountsFileContext(ctx, f.AccountsFile)
		if err != nil {
			return targets.Result{}, asUsage(err)
		}
		res, err := targets.ApplyFilter(accts, flt)
		return res, asUsage(err)
	}
	c, err := cfg()
	if err != nil {
		return targets.Result{}, err
	}
	res, err := targets.Discover(ctx, organizations.NewFromConfig(c), flt)
	if err != nil {
		if errors.As(err, new(*targets.InputError)) {
			return res, asUsage(err)
		}
		return res, fmt.Errorf("discover accounts (give --accounts-file if you cannot read AWS Organizations): %w", err)
	}
	return res, nil
}

// resolve returns this shard's target accounts.
func (f *fleetFlags) resolve(ctx context.Context) (targets.Result, error) {
	res, err := f.targets.resolve(ctx, func() (aws.Config, error) { return f.aws(ctx) })
	if err != nil {
		return res, err
	}
	shard, err := targets.ParseShard(f.Shard)
	if err != nil {
		return res, asUsage(err)
	}
	res.Targets = shard.Select(res.Targets)
	return res, nil
}

// targetAccounts is resolve for commands that act on accounts: an empty selection is a usage
// error that says how to see what the filters select.
func (f *fleetFlags) targetAccounts(ctx context.Context) ([]targets.Account, error) {
	res, err := f.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if len(res.Targets) == 0 {
		return nil, usagef("no target accounts: the filters select none (%d skipped); `rollout accounts` shows what they select", len(res.Skipped))
	}
	return res.Targets, nil
}
