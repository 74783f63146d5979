package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/backend"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

// fakeHandler counts calls per account; fail lists accounts that always fail, hold ones whose
// work takes that long (or until cancelled).
type fakeHandler struct {
	mu    sync.Mutex
	calls map[string]int
	done  map[string]int
	fail  map[string]bool
	hold  map[string]time.Duration
}

func (h *fakeHandler) Account(ctx context.Context, id string) (watch.Outcome, error) {
	h.mu.Lock()
	h.calls[id]++
	fail, hold := h.fail[id], h.hold[id]
	h.mu.Unlock()
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-ctx.Done():
			return watch.Outcome{Action: watch.ActionOnboard}, ctx.Err()
		}
	}
	if fail {
		return watch.Outcome{Action: watch.ActionOnboard}, errors.New("assume-role: access denied")
	}
	h.mu.Lock()
	h.done[id]++
	h.mu.Unlock()
	return watch.Outcome{Action: watch.ActionOnboard, Result: rollout.StatusSucceeded,
		Handoff: &rollout.Handoff{AccountID: id, RoleArns: map[string]string{"R": "arn:aws:iam::" + id + ":role/R"}}}, nil
}

func (h *fakeHandler) get(m map[string]int, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return m[id]
}

// syncBuffer is a log both the worker and the test read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []watch.Line {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []watch.Line
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var x watch.Line
		require.NoError(t, json.Unmarshal([]byte(l), &x), l)
		out = append(out, x)
	}
	return out
}

func eventually(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, within, 100*time.Millisecond, what)
}

// The worker against moto's SQS with a fake handler: the queue mechanics, not the rollout.
func TestWorkerAgainstMoto(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	cfg := m.AWSConfig(t)
	client := sqs.NewFromConfig(cfg)

	tests := []struct {
		name string
		run  func(t *testing.T, q testenv.EventQueue)
	}{
		{name: "a poison event goes to the dead-letter queue after N receives without blocking the others", run: func(t *testing.T, q testenv.EventQueue) {
			h := &fakeHandler{calls: map[string]int{}, done: map[string]int{}, fail: map[string]bool{"999999999999": true}}
			testenv.SendEvents(t, cfg, q.URL,
				testenv.OrganizationsEvent("poison", "CreateAccountResult", "999999999999"),
				"not an event",
				testenv.OrganizationsEvent("good", "CreateAccountResult", "111111111111"),
				`{"id":"ou","source":"aws.organizations","detail":{"eventName":"CreateOrganizationalUnit"}}`)
			var log syncBuffer
			ctx, stop := context.WithCancel(context.Background())
			var c watch.Counters
			done := make(chan struct{})
			go func() {
				defer close(done)
				var err error
				c, err = watch.Run(ctx, client, h, watch.Options{QueueURL: q.URL, Visibility: 10 * time.Second, Wait: time.Second, Backoff: time.Second, MaxBackoff: time.Second, Log: &log, Name: "w1"})
				require.NoError(t, err)
			}()
			eventually(t, 30*time.Second, func() bool { v, f := testenv.QueueDepth(t, cfg, q.DLQURL); return v+f == 2 }, "the poison event and the unreadable message reach the DLQ")
			stop()
			<-done
			require.Equal(t, 1, h.get(h.done, "111111111111"), "the good account is done once")
			require.Equal(t, 3, h.get(h.calls, "999999999999"), "the poison account is tried maxReceiveCount times")
			v, f := testenv.QueueDepth(t, cfg, q.URL)
			require.Zero(t, v+f, "nothing is left in the queue")
			require.Equal(t, 1, c.Onboarded)
			require.Equal(t, 1, c.Ignored)
			require.Equal(t, 6, c.Failed, "3 receives each of the poison and the unreadable message")
			require.Equal(t, 2, c.DeadLettered)
			var dead, handoff int
			for _, l := range log.lines(t) {
				if l.Result == "dead-letter" {
					dead++
					require.Equal(t, q.DLQARN, l.DeadLetterQueue, "the log names the dead-letter queue")
				}
				if l.Type == "account" && l.Handoff != nil {
					handoff++
					require.Equal(t, "good", l.EventID)
				}
			}
			require.Equal(t, 2, dead)
			require.Equal(t, 1, handoff)
		}},
		{name: "the visibility is extended while the account is worked on", run: func(t *testing.T, q testenv.EventQueue) {
			h := &fakeHandler{calls: map[string]int{}, done: map[string]int{}, hold: map[string]time.Duration{"111111111111": 7 * time.Second}}
			testenv.SendEvents(t, cfg, q.URL, testenv.OrganizationsEvent("slow", "MoveAccount", "111111111111"))
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, err := watch.Run(ctx, client, h, watch.Options{QueueURL: q.URL, Visibility: 3 * time.Second, Wait: time.Second, Backoff: time.Second, MaxBackoff: time.Second})
				require.NoError(t, err)
			}()
			eventually(t, 10*time.Second, func() bool { return h.get(h.calls, "111111111111") == 1 }, "the worker takes the message")
			// Another worker polling meanwhile gets nothing, though 3s visibility lapses twice.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 1, VisibilityTimeout: 1})
				require.NoError(t, err)
				require.Empty(t, out.Messages, "the message is in the first worker's hands")
			}
			eventually(t, 10*time.Second, func() bool { return h.get(h.done, "111111111111") == 1 }, "the account is done")
			stop()
			<-done
			require.Equal(t, 1, h.get(h.calls, "111111111111"))
		}},
		{name: "on stop an account that does not finish within the grace period is handed back", run: func(t *testing.T, q testenv.EventQueue) {
			h := &fakeHandler{calls: map[string]int{}, done: map[string]int{}, hold: map[string]time.Duration{"111111111111": time.Hour, "222222222222": 2 * time.Second}}
			testenv.SendEvents(t, cfg, q.URL, testenv.OrganizationsEvent("stuck", "MoveAccount", "111111111111"), testenv.OrganizationsEvent("quick", "MoveAccount", "222222222222"))
			var log syncBuffer
			ctx, stop := context.WithCancel(context.Background())
			var c watch.Counters
			done := make(chan struct{})
			go func() {
				defer close(done)
				var err error
				c, err = watch.Run(ctx, client, h, watch.Options{QueueURL: q.URL, Slots: 2, Visibility: time.Minute, Wait: time.Second, Grace: 4 * time.Second, Log: &log})
				require.NoError(t, err)
			}()
			eventually(t, 10*time.Second, func() bool { return h.get(h.calls, "111111111111") == 1 && h.get(h.calls, "222222222222") == 1 }, "both taken")
			stop()
			<-done
			require.Equal(t, 1, c.Released)
			require.Equal(t, 1, h.get(h.done, "222222222222"), "the account that could finish within the grace period did")
			out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 2, MaxNumberOfMessages: 10})
			require.NoError(t, err)
			require.Len(t, out.Messages, 1, "the released message is visible again at once, though its visibility was a minute")
			require.Contains(t, aws.ToString(out.Messages[0].Body), "stuck")
		}},
		{name: "one worker of two reconciles at a time", run: func(t *testing.T, q testenv.EventQueue) {
			st, err := backend.Open(context.Background(), "file://"+t.TempDir(), aws.Config{})
			require.NoError(t, err)
			var mu sync.Mutex
			running, most := 0, 0
			// The reconcile holds the lock until the other worker has been turned away, so
			// that a worker that starts late cannot find it free.
			release := make(chan struct{})
			reconcile := func(context.Context) (string, error) {
				mu.Lock()
				running++
				most = max(most, running)
				mu.Unlock()
				select {
				case <-release:
				case <-time.After(time.Minute):
				}
				mu.Lock()
				running--
				mu.Unlock()
				return "ok", nil
			}
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			counters := make([]watch.Counters, 2)
			var log syncBuffer
			for i := range 2 {
				wg.Go(func() {
					var err error
					counters[i], err = watch.Run(ctx, client, &fakeHandler{calls: map[string]int{}, done: map[string]int{}}, watch.Options{QueueURL: q.URL, Wait: time.Second,
						ReconcileEvery: time.Hour, Reconcile: reconcile, ReconcileLock: &watch.Lock{Store: st, TTL: time.Hour}, Log: &log})
					require.NoError(t, err)
				})
			}
			has := func(result string) bool {
				for _, l := range log.lines(t) {
					if l.Type == "reconcile" && l.Result == result {
						return true
					}
				}
				return false
			}
			eventually(t, time.Minute, func() bool { return has("skipped") }, "the second worker is turned away")
			close(release)
			eventually(t, time.Minute, func() bool { return has("succeeded") }, "the reconcile ends")
			stop()
			wg.Wait()
			require.Equal(t, 1, most, "never two at once")
			require.Equal(t, 1, counters[0].Reconciles+counters[1].Reconciles)
			require.Equal(t, 1, counters[0].ReconcilesSkipped+counters[1].ReconcilesSkipped)
			_, err = st.Read(context.Background(), watch.ReconcileLockKey)
			require.True(t, backend.IsNotFound(err), "the lock is released")
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := testenv.CreateEventQueue(t, cfg, "events-"+string(rune('a'+i)), 3, 30*time.Second)
			tc.run(t, q)
		})
	}
}
