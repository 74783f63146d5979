package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/backend/locks"
)

type unlockInput struct {
	Backend   string
	OlderThan time.Duration
	Yes       bool
	Region    string
}

func newUnlockCmd() *cobra.Command {
	in := &unlockInput{}
	c := &cobra.Command{
		Use:   "unlock [--backend URL] [--older-than 2h] [--yes]",
		Short: "List stack locks left by killed runs, and clear the stale ones when told to",
		Long: `unlock lists every stack lock in a file:// or s3:// backend with who holds it. A lock whose
process is gone from this host is stale; a lock from another host counts as stale only when it
is older than --older-than. Stale locks are removed only with --yes: nothing is cleared
silently, and a live lock is never touched.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runUnlock(c, in) },
	}
	c.Flags().StringVar(&in.Backend, "backend", "", "state backend URL (default $PULUMI_BACKEND_URL, else file://./.byoc-access/state)")
	c.Flags().DurationVar(&in.OlderThan, "older-than", 0, "also treat locks from other hosts older than this as stale")
	c.Flags().BoolVar(&in.Yes, "yes", false, "remove the stale locks")
	c.Flags().StringVar(&in.Region, "region", "us-east-1", "AWS region for an s3:// backend")
	return c
}

func runUnlock(c *cobra.Command, in *unlockInput) error {
	ctx := c.Context()
	if in.OlderThan < 0 {
		return usagef("--older-than %s: want a positive age such as 2h, or 0 for processes gone from this host only", in.OlderThan)
	}
	if _, err := validate.Region(in.Region); err != nil {
		return usagef("--region: %v", err)
	}
	backend := in.Backend
	if backend == "" {
		backend = os.Getenv("PULUMI_BACKEND_URL")
	}
	if backend == "" {
		dir, err := filepath.Abs(filepath.Join(".byoc-access", "state"))
		if err != nil {
			return err
		}
		backend = "file://" + dir
	}
	cfg, err := access.NewAWSConfig(ctx, in.Region)
	if err != nil {
		return err
	}
	st, err := locks.Open(ctx, backend, cfg)
	if err != nil {
		return asUsage(err)
	}
	all, err := locks.List(ctx, st)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if len(all) == 0 {
		fmt.Fprintf(out, "no locks in %s\n", backend)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tHOLDER\tSTALE\tWHY")
	var stale []locks.Lock
	for _, l := range all {
		isStale, why := l.Stale(in.OlderThan)
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", l.Stack, l.Holder(), isStale, why)
		if isStale {
			stale = append(stale, l)
		}
	}
	_ = tw.Flush()
	if len(stale) == 0 {
		fmt.Fprintln(out, "\nno stale locks: nothing to clear")
		return nil
	}
	if !in.Yes {
		fmt.Fprintf(out, "\n%d stale locks; run again with --yes to remove them\n", len(stale))
		return nil
	}
	for _, l := range stale {
		if err := locks.Remove(ctx, st, l); err != nil {
			return fmt.Errorf("remove lock of %s: %w", l.Stack, err)
		}
		fmt.Fprintf(out, "removed the lock of %s held by %s\n", l.Stack, l.Holder())
	}
	return nil
}
