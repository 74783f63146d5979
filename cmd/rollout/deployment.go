package main

import (
	"context"
	"errors"

	"github.com/byoc-access/byoc-access/rollout"
)

// vendorDeployment is rollout.VendorDeployment with the vendor flags' spec, parameters and
// tags; bad input is a usage error.
func vendorDeployment(ctx context.Context, vf *vendorFlags, region string) (rollout.Deployment, error) {
	spec, params, err := vf.load(ctx)
	if err != nil {
		return rollout.Deployment{}, err
	}
	tags, err := vf.tags()
	if err != nil {
		return rollout.Deployment{}, err
	}
	dep, err := rollout.VendorDeployment(rollout.VendorArgs{
		Vendor: vf.Vendor, SpecFile: vf.SpecFile, Spec: spec, Params: params, Tags: tags, Region: region, Version: version,
	})
	return dep, deploymentError(err)
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

// deploymentError makes rollout.VendorDeployment's bad-input errors usage errors (exit 2).
func deploymentError(err error) error {
	if errors.As(err, new(*rollout.SpecError)) || errors.As(err, new(*rollout.LintError)) {
		return asUsage(err)
	}
	return err
}
