package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/watch/setup"
)

// watchSetupInput are the flags of `watch setup`: what to create, and where state lives.
type watchSetupInput struct {
	args    setup.Args
	fleet   fleetFlags
	Preview bool
	Destroy bool
}

func newWatchSetupCmd() *cobra.Command {
	in := &watchSetupInput{}
	c := &cobra.Command{
		Use:   "setup [--queue-name NAME] [--max-receive-count N] [--preview | --destroy]",
		Short: "Create (or preview, or destroy) the SQS queue, dead-letter queue and EventBridge rule that feed watch",
		Long: `setup deploys, as a Pulumi stack in the state backend, the event plumbing of rollout watch into
the organization's management account, where Organizations events land (us-east-1): the SQS
queue, its dead-letter queue (a message goes there after --max-receive-count failed receives),
the queue policy that lets only this rule send to the queue, and the EventBridge rule on the
Organizations events watch acts on, with the queue as its target. Run it with the management
account's credentials. It prints the queue URL to give watch. --preview shows what it would
change; --destroy removes all of it and the stack.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runWatchSetup(c, in) },
	}
	fl := c.Flags()
	fl.StringVar(&in.args.QueueName, "queue-name", "byoc-access-events", "the queue's name; the dead-letter queue is NAME-dlq and the rule NAME")
	fl.IntVar(&in.args.MaxReceiveCount, "max-receive-count", 8, "receives of a failing message before it moves to the dead-letter queue (with watch's default backoff, 8 span 45 minutes: longer than --stale-lock-after)")
	fl.DurationVar(&in.args.Visibility, "visibility", 2*time.Minute, "the queue's default visibility timeout (watch sets its own per receive)")
	fl.StringVar(&in.fleet.targets.Region, "region", "us-east-1", "region of the queue and rule (Organizations events are delivered in us-east-1)")
	fl.StringVar(&in.fleet.Backend, "backend", "", "state backend URL (default $PULUMI_BACKEND_URL, else file://./.byoc-access/state)")
	fl.StringVar(&in.fleet.PassphraseFile, "passphrase-file", "", "file holding the secrets passphrase (default $PULUMI_CONFIG_PASSPHRASE or $PULUMI_CONFIG_PASSPHRASE_FILE)")
	fl.StringVar(&in.fleet.Output, "output", "text", "text or json")
	fl.StringVar(&in.fleet.RunDir, "run-dir", "", "directory for the engine log (default .byoc-access/runs/TIME-watch-setup)")
	fl.DurationVar(&in.fleet.Timeout, "timeout", 15*time.Minute, "timeout of the stack's operation")
	fl.BoolVar(&in.Preview, "preview", false, "show what setup would create or change, without changing anything")
	fl.BoolVar(&in.Destroy, "destroy", false, "remove the queue, dead-letter queue, policy and rule, and the stack")
	return c
}

func runWatchSetup(c *cobra.Command, in *watchSetupInput) error {
	ctx := c.Context()
	if err := in.args.Validate(); err != nil {
		return asUsage(err)
	}
	if in.Preview && in.Destroy {
		return usagef("--preview and --destroy conflict: choose one")
	}
	if in.fleet.Output != "text" && in.fleet.Output != "json" {
		return usagef("--output %q: use text or json", in.fleet.Output)
	}
	pass, err := in.fleet.passphrase()
	if err != nil {
		return err
	}
	cfg, err := in.fleet.aws(ctx)
	if err != nil {
		return err
	}
	mgmt, err := managementAccount(c, cfg)
	if err != nil {
		return err
	}
	op := rollout.OpUp
	switch {
	case in.Preview:
		op = rollout.OpPreview
	case in.Destroy:
		op = rollout.OpDestroy
	}
	runDir := in.fleet.RunDir
	if runDir == "" {
		runDir = filepath.Join(".byoc-access", "runs", time.Now().UTC().Format("20060102T150405Z")+"-watch-setup")
	}
	progress := newProgress(c.ErrOrStderr())
	r, err := rollout.New(setup.Deployment(in.args),
		rollout.Backend(in.fleet.backend()), rollout.Passphrase(pass), rollout.StackPrefix(setup.StackPrefix),
		rollout.Region(in.fleet.targets.Region), rollout.Parallel(1), rollout.Timeout(in.fleet.Timeout),
		rollout.RunDir(runDir), rollout.OnEvent(progress.event))
	if err != nil {
		if errors.As(err, new(*pulumicli.NotFoundError)) {
			return err
		}
		return asUsage(err)
	}
	acct := []targets.Account{{ID: mgmt, Management: true}}
	var rep *rollout.Report
	switch op {
	case rollout.OpPreview:
		rep, err = r.Preview(ctx, acct)
	case rollout.OpDestroy:
		rep, err = r.Offboard(ctx, acct)
	default:
		rep, err = r.Up(ctx, acct)
	}
	progress.done()
	if err != nil {
		return err
	}
	res := rep.Results[0]
	if res.UpToDate {
		// Skipped by fingerprint: the outputs come from state.
		if st, err := r.Status(ctx, acct); err == nil && st.Results[0].Status == rollout.StatusSucceeded {
			res.Outputs = st.Results[0].Outputs
		}
	}
	out := c.OutOrStdout()
	if in.fleet.Output == "json" {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else {
		printTable(out, rep)
		if op == rollout.OpUp && (res.Status == rollout.StatusSucceeded || res.UpToDate) {
			keys := make([]string, 0, len(res.Outputs))
			for k := range res.Outputs {
				if k != "fingerprint" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(out, "%s: %v\n", k, res.Outputs[k])
			}
			fmt.Fprintf(out, "\nrun the workers with: rollout watch --queue-url %v ...\n", res.Outputs["queueUrl"])
		}
		fmt.Fprintf(c.ErrOrStderr(), "reports and logs: %s\n", runDir)
	}
	return outcome(rep)
}

// managementAccount is the credentials' account, which must be the organization's management
// account: Organizations events are delivered there only.
func managementAccount(c *cobra.Command, cfg aws.Config) (string, error) {
	ctx := c.Context()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("read the credentials' account: %w", err)
	}
	org, err := organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return "", fmt.Errorf("describe the organization (setup needs the management account's credentials): %w", err)
	}
	acct, master := aws.ToString(id.Account), aws.ToString(org.Organization.MasterAccountId)
	if acct != master {
		return "", usagef("the credentials act in account %s, not in the organization's management account %s, where Organizations events are delivered: use its credentials", acct, master)
	}
	return acct, nil
}
