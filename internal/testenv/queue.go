package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// EventQueue is an SQS queue with a dead-letter queue, as `rollout watch setup` makes one.
type EventQueue struct {
	URL, ARN       string
	DLQURL, DLQARN string
}

// CreateEventQueue makes a queue whose messages go to a dead-letter queue after maxReceive
// receives, with the given default visibility timeout.
func CreateEventQueue(t testing.TB, cfg aws.Config, name string, maxReceive int, visibility time.Duration) EventQueue {
	t.Helper()
	ctx := context.Background()
	c := sqs.NewFromConfig(cfg)
	var q EventQueue
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatalf("create the dead-letter queue: %v", err)
	}
	q.DLQURL = aws.ToString(dlq.QueueUrl)
	q.DLQARN = queueARN(t, c, q.DLQURL)
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": q.DLQARN, "maxReceiveCount": fmt.Sprint(maxReceive)})
	main, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"RedrivePolicy": string(redrive), "VisibilityTimeout": fmt.Sprint(int(visibility / time.Second)),
	}})
	if err != nil {
		t.Fatalf("create the queue: %v", err)
	}
	q.URL = aws.ToString(main.QueueUrl)
	q.ARN = queueARN(t, c, q.URL)
	return q
}

func queueARN(t testing.TB, c *sqs.Client, url string) string {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue ARN of %s: %v", url, err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// OrganizationsEvent is the EventBridge envelope of the CloudTrail record of an Organizations
// call about one account, as it arrives in the queue: CreateAccountResult (succeeded), MoveAccount,
// RemoveAccountFromOrganization, CloseAccount.
func OrganizationsEvent(id, name, accountID string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "source": "aws.organizations", "account": MotoAccount,
		"time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail-type": detailType(name), "detail": organizationsDetail(name, accountID),
	})
	return string(b)
}

func detailType(name string) string {
	if name == "CreateAccountResult" {
		return "AWS Service Event via CloudTrail"
	}
	return "AWS API Call via CloudTrail"
}

func organizationsDetail(name, accountID string) map[string]any {
	d := map[string]any{"eventSource": "organizations.amazonaws.com", "eventName": name, "awsRegion": "us-east-1"}
	if name == "CreateAccountResult" {
		d["serviceEventDetails"] = map[string]any{"createAccountStatus": map[string]any{"state": "SUCCEEDED", "accountId": accountID}}
	} else {
		d["requestParameters"] = map[string]any{"accountId": accountID}
	}
	return d
}

// SendEvents puts Organizations events straight into a queue, as the EventBridge rule would.
func SendEvents(t testing.TB, cfg aws.Config, queueURL string, bodies ...string) {
	t.Helper()
	c := sqs.NewFromConfig(cfg)
	for _, b := range bodies {
		if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(b)}); err != nil {
			t.Fatalf("send an event: %v", err)
		}
	}
}

// RouteOrganizationsEvents makes an EventBridge rule on the default bus that sends every
// aws.organizations event to the queue.
func RouteOrganizationsEvents(t testing.TB, cfg aws.Config, rule, queueARN string) {
	t.Helper()
	ctx := context.Background()
	c := eventbridge.NewFromConfig(cfg)
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(`{"source":["aws.organizations"]}`)}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(queueARN)}}}); err != nil {
		t.Fatalf("put targets: %v", err)
	}
}

// PutOrganizationsEvent puts an Organizations event on the default EventBridge bus, as
// CloudTrail does when the call happens.
func PutOrganizationsEvent(t testing.TB, cfg aws.Config, name, accountID string) {
	t.Helper()
	detail, _ := json.Marshal(organizationsDetail(name, accountID))
	out, err := eventbridge.NewFromConfig(cfg).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("aws.organizations"), DetailType: aws.String(detailType(name)), Detail: aws.String(string(detail)),
	}}})
	if err != nil || out.FailedEntryCount > 0 {
		t.Fatalf("put event %s: %v (%d failed)", name, err, out.FailedEntryCount)
	}
}

// QueueDepth is the number of messages in a queue, visible and in flight.
func QueueDepth(t testing.TB, cfg aws.Config, url string) (visible, inFlight int) {
	t.Helper()
	out, err := sqs.NewFromConfig(cfg).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatalf("queue depth of %s: %v", url, err)
	}
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], &visible)
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &inFlight)
	return visible, inFlight
}
