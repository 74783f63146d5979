// Package setup is the event plumbing of `rollout watch`, as a Pulumi stack in the
// organization's management account: the SQS queue the workers consume, its dead-letter
// queue, the queue policy that lets EventBridge send to it, and the EventBridge rule (with its
// target) on the Organizations events package watch acts on. It is deployed, previewed and
// destroyed by the rollout's own runner (rollout.Runner), as one more stack.
package setup

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

// Project is the Pulumi project of the setup stack, apart from the vendor stacks' so that
// listing and pruning those never sees it.
const Project = "byoc-access-watch"

// StackPrefix goes before the management account ID in the setup stack's name, which so is
// never taken for a vendor stack (an account ID alone) in a backend's legacy layout either.
const StackPrefix = "watch-setup"

// Config keys of the setup stack.
const (
	keyName        = Project + ":queueName"
	keyMaxReceive  = Project + ":maxReceiveCount"
	keyVisibility  = Project + ":visibilitySeconds"
	keyFingerprint = Project + ":fingerprint"
)

// Args say what to create.
type Args struct {
	// QueueName names the queue; the dead-letter queue is QueueName-dlq and the rule QueueName.
	QueueName string
	// MaxReceiveCount is how many receives a failing message gets before it moves to the
	// dead-letter queue (SQS allows 1 to 1000).
	MaxReceiveCount int
	// Visibility is the queue's default visibility timeout; the workers set their own per
	// receive, this covers other consumers.
	Visibility time.Duration
}

var queueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,76}$`)

// Validate checks the arguments before anything is deployed; the error names the flag.
func (a Args) Validate() error {
	switch {
	case !queueName.MatchString(a.QueueName):
		return fmt.Errorf("--queue-name %q: letters, digits, - and _ only, 1 to 76 characters (the dead-letter queue adds -dlq)", a.QueueName)
	case a.MaxReceiveCount < 1 || a.MaxReceiveCount > 1000:
		return fmt.Errorf("--max-receive-count %d: want 1 to 1000 (SQS's limit)", a.MaxReceiveCount)
	case a.Visibility < 0 || a.Visibility > 12*time.Hour:
		return fmt.Errorf("--visibility %s: want 0 to 12h (SQS's limit)", a.Visibility)
	}
	return nil
}

// EventPattern is the rule's pattern: Organizations calls recorded by CloudTrail, of the names
// the worker acts on.
func EventPattern() string {
	b, _ := json.Marshal(map[string]any{
		"source":      []string{"aws.organizations"},
		"detail-type": []string{"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"},
		"detail":      map[string]any{"eventName": watch.EventNames},
	})
	return string(b)
}

// Deployment is the setup stack for the rollout's runner: deployed with the caller's own
// credentials (the management account's), into the account it is run for.
func Deployment(a Args) rollout.Deployment {
	return rollout.Deployment{
		Project:        Project,
		Program:        Program,
		NeedsAWSPlugin: true,
		OwnCredentials: true,
		Version:        "watch-setup/1",
		FingerprintKey: keyFingerprint,
		StackConfig: func(acct targets.Account) (map[string]string, error) {
			return map[string]string{
				keyName:       a.QueueName,
				keyMaxReceive: strconv.Itoa(a.MaxReceiveCount),
				keyVisibility: strconv.Itoa(int(a.Visibility / time.Second)),
				// The provider refuses credentials of any other account.
				"aws:allowedAccountIds": `["` + acct.ID + `"]`,
			}, nil
		},
	}
}

// Program creates the queue, its dead-letter queue, the queue policy and the rule.
func Program(ctx *pulumi.Context) error {
	c := config.New(ctx, Project)
	name := c.Require("queueName")
	maxReceive := c.RequireInt("maxReceiveCount")
	visibility := c.RequireInt("visibilitySeconds")
	tags := pulumi.StringMap{"managed-by": pulumi.String("byoc-access")}

	dlq, err := sqs.NewQueue(ctx, "dead-letter", &sqs.QueueArgs{
		Name: pulumi.String(name + "-dlq"),
		// The longest SQS keeps a message: time to look at why it failed.
		MessageRetentionSeconds: pulumi.Int(14 * 24 * 3600),
		Tags:                    tags,
	})
	if err != nil {
		return err
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": maxReceive})
		return string(b), err
	}).(pulumi.StringOutput)
	queue, err := sqs.NewQueue(ctx, "events", &sqs.QueueArgs{
		Name:                     pulumi.String(name),
		VisibilityTimeoutSeconds: pulumi.Int(visibility),
		MessageRetentionSeconds:  pulumi.Int(4 * 24 * 3600),
		RedrivePolicy:            redrive,
		Tags:                     tags,
	})
	if err != nil {
		return err
	}
	rule, err := cloudwatch.NewEventRule(ctx, "organizations", &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(name),
		Description:  pulumi.String("AWS Organizations events for rollout watch: accounts created, invited, moved, removed, closed"),
		EventPattern: pulumi.String(EventPattern()),
		Tags:         tags,
	})
	if err != nil {
		return err
	}
	policy := pulumi.All(queue.Arn, rule.Arn).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": "EventBridgeRule", "Effect": "Allow",
				"Principal": map[string]any{"Service": "events.amazonaws.com"},
				"Action":    "sqs:SendMessage", "Resource": v[0],
				// Only this rule may send, not any rule of any account.
				"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": v[1]}},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := sqs.NewQueuePolicy(ctx, "events", &sqs.QueuePolicyArgs{QueueUrl: queue.Url, Policy: policy}); err != nil {
		return err
	}
	if _, err := cloudwatch.NewEventTarget(ctx, "queue", &cloudwatch.EventTargetArgs{
		Rule: rule.Name, Arn: queue.Arn, TargetId: pulumi.String("rollout-watch"),
	}); err != nil {
		return err
	}
	ctx.Export("queueUrl", queue.Url)
	ctx.Export("queueArn", queue.Arn)
	ctx.Export("deadLetterQueueUrl", dlq.Url)
	ctx.Export("deadLetterQueueArn", dlq.Arn)
	ctx.Export("ruleArn", rule.Arn)
	ctx.Export("fingerprint", pulumi.String(c.Get("fingerprint")))
	return nil
}
