package program

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/byoc-access/byoc-access/components"
	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/vendors"
)

// Project is the Pulumi project name; stack config keys live in its namespace.
const Project = "byoc-access"

// Config keys read by the program, in the project's namespace.
const (
	KeyVendor    = "vendor"
	KeySpecFile  = "specFile"
	KeyParams    = "params"
	KeyAccountID = "accountId"
	KeyTags      = "tags"
	// KeyAdopt lists existing resources ("role/NAME", "policy/NAME") to import, as JSON.
	KeyAdopt = "adopt"
	// KeyFingerprint is set by the rollout and exported unchanged, so state records which
	// inputs the last successful update used.
	KeyFingerprint = "fingerprint"
)

// Config is one stack's configuration: which vendor, with which parameters, in which account.
type Config struct {
	// Vendor is an embedded preset name; SpecFile a vendor spec file. Exactly one is set.
	Vendor   string
	SpecFile string
	// Params are the vendor's parameters.
	Params map[string]any
	// AccountID pins the target account; empty means the provider's account.
	AccountID string
	// Tags are applied to every role and policy.
	Tags map[string]string
	// Region is the provider's region (aws:region).
	Region string
	// Adopt lists existing resources to import instead of create.
	Adopt []string
	// Fingerprint is exported as the "fingerprint" output.
	Fingerprint string
}

// ReadConfig reads and checks the stack configuration.
func ReadConfig(ctx *pulumi.Context) (Config, error) {
	cfg := config.New(ctx, Project)
	c := Config{
		Vendor:      cfg.Get(KeyVendor),
		SpecFile:    cfg.Get(KeySpecFile),
		AccountID:   cfg.Get(KeyAccountID),
		Fingerprint: cfg.Get(KeyFingerprint),
		Region:      config.New(ctx, "aws").Get("region"),
	}
	if err := cfg.TryObject(KeyParams, &c.Params); err != nil && !isMissing(err) {
		return c, fmt.Errorf("config %s:%s: want an object of vendor parameters: %w", Project, KeyParams, err)
	}
	if err := cfg.TryObject(KeyAdopt, &c.Adopt); err != nil && !isMissing(err) {
		return c, fmt.Errorf("config %s:%s: want a JSON list such as [\"role/NAME\"]: %w", Project, KeyAdopt, err)
	}
	if err := cfg.TryObject(KeyTags, &c.Tags); err != nil && !isMissing(err) {
		return c, fmt.Errorf("config %s:%s: want an object of tag names to values: %w", Project, KeyTags, err)
	}
	if c.AccountID != "" {
		if err := validate.AccountID(c.AccountID); err != nil {
			return c, fmt.Errorf("config %s:%s: %w", Project, KeyAccountID, err)
		}
	}
	if err := validate.Tags(c.Tags); err != nil {
		return c, fmt.Errorf("config %s:%s: %w", Project, KeyTags, err)
	}
	if c.Vendor == "" && c.SpecFile == "" {
		return c, fmt.Errorf("config %s:%s is not set: run `pulumi config set %s <%s>` or set %s:%s to a spec file",
			Project, KeyVendor, KeyVendor, strings.Join(vendors.PresetNames(), "|"), Project, KeySpecFile)
	}
	return c, nil
}

func isMissing(err error) bool {
	return err == config.ErrMissingVar || strings.Contains(err.Error(), "missing required configuration")
}

// Run is the program: read config, create the VendorAccess, export its outputs.
func Run(ctx *pulumi.Context) error {
	c, err := ReadConfig(ctx)
	if err != nil {
		return err
	}
	return Deploy(ctx, c)
}

// Deploy creates the VendorAccess for an already-read Config and exports its outputs.
func Deploy(ctx *pulumi.Context, c Config) error {
	spec, err := vendors.Select(c.Vendor, c.SpecFile)
	if err != nil {
		return fmt.Errorf("config %s:%s/%s: %w", Project, KeyVendor, KeySpecFile, err)
	}
	// Checked here as well as in the component, so the message names the config key to fix.
	if _, err := spec.ResolveParams(c.Params); err != nil {
		return fmt.Errorf("config %s:%s: %w", Project, KeyParams, err)
	}
	if err := checkAccount(ctx, c.AccountID); err != nil {
		return err
	}
	adopt := map[string]bool{}
	for _, name := range c.Adopt {
		adopt[name] = true
	}
	va, err := components.NewVendorAccess(ctx, spec.Name, &components.VendorAccessArgs{
		Spec:      spec,
		Params:    c.Params,
		AccountID: c.AccountID,
		Region:    c.Region,
		Tags:      c.Tags,
		Adopt:     adopt,
	})
	if err != nil {
		return err
	}
	ctx.Export("vendor", pulumi.String(spec.Vendor))
	ctx.Export("accountId", va.AccountID)
	ctx.Export("roleArns", va.RoleArns)
	ctx.Export("policyArns", va.PolicyArns)
	ctx.Export("boundaryArn", va.BoundaryArn)
	ctx.Export("externalId", va.ExternalID)
	ctx.Export("handoff", va.Handoff)
	ctx.Export("fingerprint", pulumi.String(c.Fingerprint))
	return nil
}

// checkAccount pins the stack to its account: with credentials for another account (the
// wrong profile), the roles would be created there while their ARNs and the handoff name the
// configured one. It fails before any resource is registered, so nothing is created. The
// rollout also sets the provider's allowedAccountIds, which the provider enforces itself.
func checkAccount(ctx *pulumi.Context, accountID string) error {
	if accountID == "" {
		return nil
	}
	id, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return fmt.Errorf("config %s:%s: read the AWS provider's account to check it: %w", Project, KeyAccountID, err)
	}
	if id.AccountId != accountID {
		return fmt.Errorf("config %s:%s is %s, but the AWS provider's credentials act in account %s (%s): nothing was created; "+
			"use credentials for account %s (a profile, or aws:assumeRole), or correct %s:%s",
			Project, KeyAccountID, accountID, id.AccountId, id.Arn, accountID, Project, KeyAccountID)
	}
	return nil
}

// StackConfig is the flat key/value form of a Config for the Automation API, with keys in the
// project's namespace ("byoc-access:vendor"); objects are JSON text, which the program reads
// back with TryObject.
func (c Config) StackConfig() (map[string]string, error) {
	out := map[string]string{}
	if c.Vendor != "" {
		out[Project+":"+KeyVendor] = c.Vendor
	}
	if c.SpecFile != "" {
		out[Project+":"+KeySpecFile] = c.SpecFile
	}
	if c.AccountID != "" {
		out[Project+":"+KeyAccountID] = c.AccountID
	}
	if len(c.Params) > 0 {
		b, err := jsonText(c.Params)
		if err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
		out[Project+":"+KeyParams] = b
	}
	if len(c.Tags) > 0 {
		b, err := jsonText(c.Tags)
		if err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		out[Project+":"+KeyTags] = b
	}
	if c.Region != "" {
		out["aws:region"] = c.Region
	}
	if c.AccountID != "" {
		// The provider refuses credentials of any other account, before anything is read.
		out["aws:allowedAccountIds"] = `["` + c.AccountID + `"]`
	}
	return out, nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
