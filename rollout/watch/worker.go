package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/byoc-access/byoc-access/rollout"
)

// Queue is the part of SQS the worker calls; *sqs.Client satisfies it.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Action is what a worker did to an account.
type Action string

// Actions.
const (
	// ActionOnboard deployed the vendor's access into the account (or found it up to date).
	ActionOnboard Action = "onboard"
	// ActionOffboard destroyed the account's stack: it no longer matches the filters.
	ActionOffboard Action = "offboard"
	// ActionNone left the account alone: not a target and nothing deployed there, or not a
	// target and --prune not given.
	ActionNone Action = "none"
)

// Outcome is what a Handler did to one account.
type Outcome struct {
	// Action is what was done.
	Action Action
	// Result is the account's status in the run (succeeded, failed, skipped...), or "" for
	// ActionNone.
	Result rollout.Status
	// Reason says why, for ActionNone and for failures.
	Reason string
	// Unchanged says an onboarding found the account up to date (fingerprint).
	Unchanged bool
	// Handoff is what to send the vendor, for a successful onboarding.
	Handoff *rollout.Handoff
	// LockTakenOver names the holders of stale stack locks the handler removed first.
	LockTakenOver []string
}

// Handler brings one account in line with the filters as the organization says they stand
// now. An error fails the message: it comes back after a backoff, and goes to the dead-letter
// queue after the queue's maxReceiveCount receives.
type Handler interface {
	Account(ctx context.Context, accountID string) (Outcome, error)
}

// Options control a worker.
type Options struct {
	// QueueURL is the SQS queue the events arrive in.
	QueueURL string
	// Slots is how many messages (accounts) this worker works on at once; 1 when 0.
	Slots int
	// Visibility is how long a received message stays hidden from other workers; the worker
	// extends it every third of it while the account is worked on. 2 minutes when 0.
	Visibility time.Duration
	// Wait is the long-polling wait of each receive, at most 20s (SQS's limit); 20s when 0.
	Wait time.Duration
	// Backoff is how long a failed message stays hidden after its first receive; it doubles
	// with each receive, up to MaxBackoff. 30s and 15m when 0.
	Backoff, MaxBackoff time.Duration
	// Grace is how long, after stop, the accounts in hand may take to finish; the messages of
	// the others are released for another worker. 0 releases them at once.
	Grace time.Duration
	// ReconcileEvery runs Reconcile at start and then this often; 0 never.
	ReconcileEvery time.Duration
	// Reconcile is the full sync; it returns a one-line summary.
	Reconcile func(ctx context.Context) (string, error)
	// ReconcileLock, when set, is taken around each Reconcile so one worker reconciles at a time.
	ReconcileLock *Lock
	// Log receives one JSON line per event, account outcome and worker step.
	Log io.Writer
	// Name identifies this worker in the log (host:pid by default is the caller's to pass).
	Name string
}

// Counters are what a worker did, printed on exit.
type Counters struct {
	// Received counts messages received, redeliveries included.
	Received int `json:"received"`
	// Onboarded, Offboarded and Unchanged count accounts done; NoAction accounts left alone.
	Onboarded  int `json:"onboarded"`
	Offboarded int `json:"offboarded"`
	Unchanged  int `json:"unchanged"`
	NoAction   int `json:"noAction"`
	// Ignored counts events that needed no work.
	Ignored int `json:"ignored"`
	// Failed counts failed messages; DeadLettered those of them at their last receive, which
	// SQS moves to the dead-letter queue instead of delivering again.
	Failed       int `json:"failed"`
	DeadLettered int `json:"deadLettered"`
	// Released counts messages handed back unfinished on stop.
	Released int `json:"released"`
	// Reconciles counts full reconciles run here; ReconcilesSkipped those another worker held.
	Reconciles        int `json:"reconciles"`
	ReconcilesSkipped int `json:"reconcilesSkipped"`
}

// Line is one JSON line of the worker's log.
type Line struct {
	Time time.Time `json:"time"`
	// Type is worker, event, account or reconcile.
	Type      string `json:"type"`
	Worker    string `json:"worker,omitempty"`
	EventID   string `json:"eventId,omitempty"`
	EventName string `json:"eventName,omitempty"`
	Account   string `json:"account,omitempty"`
	Action    Action `json:"action,omitempty"`
	// Result is succeeded, unchanged, failed, ignored, released, started, stopped, skipped...
	Result string `json:"result,omitempty"`
	// Duration is in seconds.
	Duration float64 `json:"duration,omitempty"`
	// Receive is the message's receive count (1 on first delivery).
	Receive         int              `json:"receive,omitempty"`
	Error           string           `json:"error,omitempty"`
	Message         string           `json:"message,omitempty"`
	RetryIn         float64          `json:"retryIn,omitempty"`
	DeadLetterQueue string           `json:"deadLetterQueue,omitempty"`
	Handoff         *rollout.Handoff `json:"handoff,omitempty"`
	Counters        *Counters        `json:"counters,omitempty"`
}

// worker is one Run.
type worker struct {
	q    Queue
	h    Handler
	o    Options
	dlq  string
	max  int
	mu   sync.Mutex
	c    Counters
	logm sync.Mutex
}

// Run works on the queue until ctx is cancelled (SIGTERM), then stops as Options.Grace says and
// returns the counters. It returns an error only when it cannot work at all (the queue cannot
// be read); a failed account is logged and counted, its message left to SQS's retries.
func Run(ctx context.Context, q Queue, h Handler, o Options) (Counters, error) {
	if o.Slots < 1 {
		o.Slots = 1
	}
	if o.Visibility <= 0 {
		o.Visibility = 2 * time.Minute
	}
	if o.Wait <= 0 || o.Wait > 20*time.Second {
		o.Wait = 20 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 15 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	w := &worker{q: q, h: h, o: o}
	if err := w.readRedrive(ctx); err != nil {
		return w.c, err
	}
	start := Line{Type: "worker", Result: "started", DeadLetterQueue: w.dlq,
		Message: fmt.Sprintf("queue %s, %d at a time, visibility %s", o.QueueURL, o.Slots, o.Visibility)}
	if w.dlq == "" {
		start.Message += "; the queue has no redrive policy: a message that always fails is retried until it expires"
	} else {
		start.Message += fmt.Sprintf("; a message failed %d times goes to the dead-letter queue %s", w.max, w.dlq)
	}
	w.log(start)

	var wg sync.WaitGroup
	for range o.Slots {
		wg.Go(func() { w.slot(ctx) })
	}
	if o.ReconcileEvery > 0 && o.Reconcile != nil {
		wg.Go(func() { w.reconcileLoop(ctx) })
	}
	wg.Wait()
	c := w.counters()
	w.log(Line{Type: "worker", Result: "stopped", Counters: &c})
	return c, nil
}

// readRedrive reads the dead-letter queue and maxReceiveCount from the queue's redrive policy,
// so that logs can name where a failing message will go.
func (w *worker) readRedrive(ctx context.Context) error {
	out, err := w.q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(w.o.QueueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return fmt.Errorf("queue %s: %w", w.o.QueueURL, err)
	}
	raw := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if raw == "" {
		return nil
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(raw), &rp); err != nil {
		return fmt.Errorf("queue %s: redrive policy: %w", w.o.QueueURL, err)
	}
	w.dlq = rp.DeadLetterTargetArn
	w.max, _ = strconv.Atoi(fmt.Sprint(rp.MaxReceiveCount))
	return nil
}

func (w *worker) slot(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := w.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.o.QueueURL), MaxNumberOfMessages: 1,
			WaitTimeSeconds:             int32(w.o.Wait / time.Second),
			VisibilityTimeout:           int32(w.o.Visibility / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log(Line{Type: "worker", Result: "receive-failed", Error: err.Error()})
			sleep(ctx, 5*time.Second)
			continue
		}
		for _, m := range out.Messages {
			w.message(ctx, m)
		}
	}
}

// message works on one message. The account's work runs on a context that stop does not
// cancel, so that it can finish within the grace period.
func (w *worker) message(stop context.Context, m types.Message) {
	w.count(func(c *Counters) { c.Received++ })
	receive, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	started := time.Now()
	ev, err := ParseEvent([]byte(aws.ToString(m.Body)))
	if err != nil {
		w.log(Line{Type: "event", EventID: aws.ToString(m.MessageId), Result: "failed", Receive: receive, Error: err.Error()})
		w.fail(m, receive)
		return
	}
	base := Line{EventID: ev.ID, EventName: ev.Name, Receive: receive}
	if ev.Ignore != "" {
		l := base
		l.Type, l.Result, l.Message = "event", "ignored", ev.Ignore
		w.log(l)
		w.count(func(c *Counters) { c.Ignored++ })
		w.delete(m)
		return
	}
	l := base
	l.Type, l.Result, l.Message = "event", "received", "accounts "+strings.Join(ev.Accounts, ", ")
	w.log(l)

	work, cancel := context.WithCancel(context.WithoutCancel(stop))
	defer cancel()
	beat := w.heartbeat(work, m)
	done := make(chan bool, 1) // whether every account succeeded
	go func() {
		ok := true
		for _, id := range ev.Accounts {
			if work.Err() != nil {
				ok = false
				break
			}
			ok = w.account(work, base, id) && ok
		}
		done <- ok
	}()
	var ok bool
	select {
	case ok = <-done:
	case <-stop.Done():
		grace := time.NewTimer(w.o.Grace)
		select {
		case ok = <-done:
			grace.Stop()
		case <-grace.C:
			cancel()
			<-done
			beat()
			w.release(m, base)
			return
		}
	}
	beat()
	l = base
	l.Type, l.Duration = "event", time.Since(started).Seconds()
	if ok {
		l.Result = "succeeded"
		w.log(l)
		w.delete(m)
		return
	}
	l.Result = "failed"
	w.log(l)
	w.fail(m, receive)
}

// account works on one account of an event and logs its outcome.
func (w *worker) account(ctx context.Context, base Line, id string) bool {
	started := time.Now()
	out, err := w.h.Account(ctx, id)
	l := base
	l.Type, l.Account, l.Action, l.Duration = "account", id, out.Action, time.Since(started).Seconds()
	if len(out.LockTakenOver) > 0 {
		l.Message = "took over the stack lock of " + strings.Join(out.LockTakenOver, ", ")
	}
	if err != nil {
		l.Result, l.Error = "failed", err.Error()
		w.log(l)
		return false
	}
	if out.Reason != "" {
		l.Message = strings.TrimPrefix(l.Message+"; "+out.Reason, "; ")
	}
	switch {
	case out.Action == ActionNone:
		l.Result = "no-action"
		w.count(func(c *Counters) { c.NoAction++ })
	case out.Unchanged:
		l.Result = "unchanged"
		w.count(func(c *Counters) { c.Unchanged++ })
	case out.Action == ActionOffboard:
		l.Result = string(out.Result)
		w.count(func(c *Counters) { c.Offboarded++ })
	default:
		l.Result = string(out.Result)
		w.count(func(c *Counters) { c.Onboarded++ })
	}
	if out.Action == ActionOnboard {
		l.Handoff = out.Handoff
	}
	w.log(l)
	return true
}

// heartbeat keeps the message hidden while its account is worked on; the returned function
// stops it.
func (w *worker) heartbeat(ctx context.Context, m types.Message) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(w.o.Visibility/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.visibility(m, w.o.Visibility); err != nil {
					w.log(Line{Type: "worker", Result: "heartbeat-failed", EventID: aws.ToString(m.MessageId), Error: err.Error()})
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// fail leaves the message to SQS's retry: hidden for the backoff of its receive count, after
// which it is delivered again, or, at the queue's maxReceiveCount, moved to the dead-letter
// queue on its next receive.
func (w *worker) fail(m types.Message, receive int) {
	w.count(func(c *Counters) { c.Failed++ })
	delay := w.backoff(receive)
	l := Line{Type: "retry", EventID: aws.ToString(m.MessageId), Receive: receive, RetryIn: delay.Seconds()}
	if w.max > 0 && receive >= w.max {
		w.count(func(c *Counters) { c.DeadLettered++ })
		l.Result, l.DeadLetterQueue = "dead-letter", w.dlq
		l.Message = fmt.Sprintf("failed %d of %d times: SQS moves it to the dead-letter queue %s", receive, w.max, w.dlq)
		delay = 0
		l.RetryIn = 0
	} else {
		l.Result = "retry"
		l.Message = fmt.Sprintf("failed on receive %d: visible again in %s", receive, delay.Round(time.Second))
	}
	w.log(l)
	if err := w.visibility(m, delay); err != nil {
		w.log(Line{Type: "worker", Result: "visibility-failed", EventID: aws.ToString(m.MessageId), Error: err.Error()})
	}
}

// backoff doubles from Backoff with each receive, up to MaxBackoff.
func (w *worker) backoff(receive int) time.Duration {
	d := w.o.Backoff
	for i := 1; i < receive && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.o.MaxBackoff, 12*time.Hour)
}

// release hands an unfinished message back at once, for another worker.
func (w *worker) release(m types.Message, base Line) {
	w.count(func(c *Counters) { c.Released++ })
	l := base
	l.Type, l.Result, l.Message = "event", "released", "stopping: not finished within the grace period, handed back to the queue"
	w.log(l)
	if err := w.visibility(m, 0); err != nil {
		w.log(Line{Type: "worker", Result: "visibility-failed", EventID: base.EventID, Error: err.Error()})
	}
}

func (w *worker) visibility(m types.Message, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := w.q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(w.o.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(d / time.Second),
	})
	return err
}

func (w *worker) delete(m types.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.o.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		// The message comes back after its visibility timeout; the account's fingerprint makes
		// the second delivery cheap.
		w.log(Line{Type: "worker", Result: "delete-failed", EventID: aws.ToString(m.MessageId), Error: err.Error()})
	}
}

// reconcileLoop runs the full reconcile at start and every ReconcileEvery, under the lock.
func (w *worker) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(w.o.ReconcileEvery)
	defer t.Stop()
	for {
		w.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *worker) reconcile(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if w.o.ReconcileLock != nil {
		held, holder, err := w.o.ReconcileLock.Acquire(ctx)
		if err != nil {
			w.log(Line{Type: "reconcile", Result: "failed", Error: err.Error()})
			return
		}
		if !held {
			w.count(func(c *Counters) { c.ReconcilesSkipped++ })
			w.log(Line{Type: "reconcile", Result: "skipped", Message: "another worker is reconciling: " + holder})
			return
		}
		defer func() {
			if err := w.o.ReconcileLock.Release(context.WithoutCancel(ctx)); err != nil {
				w.log(Line{Type: "reconcile", Result: "unlock-failed", Error: err.Error()})
			}
		}()
	}
	started := time.Now()
	w.log(Line{Type: "reconcile", Result: "started"})
	summary, err := w.o.Reconcile(ctx)
	w.count(func(c *Counters) { c.Reconciles++ })
	l := Line{Type: "reconcile", Result: "succeeded", Message: summary, Duration: time.Since(started).Seconds()}
	if err != nil {
		l.Result, l.Error = "failed", err.Error()
	}
	w.log(l)
}

func (w *worker) count(f func(*Counters)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.c)
}

func (w *worker) counters() Counters {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c
}

func (w *worker) log(l Line) {
	l.Time = time.Now().UTC()
	l.Worker = w.o.Name
	b, err := json.Marshal(l)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"type":"worker","error":%q}`, err.Error()))
	}
	w.logm.Lock()
	defer w.logm.Unlock()
	_, _ = w.o.Log.Write(append(b, '\n'))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// IsEventError reports whether err is an unreadable message.
func IsEventError(err error) bool { return errors.As(err, new(*EventError)) }
