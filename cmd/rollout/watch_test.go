package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

// watchWorker is a `rollout watch` process, its JSON lines read as they come.
type watchWorker struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []watch.Line
	stderr *lockedBuilder
	done   chan struct{}
}

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWorker runs the rollout binary's watch with args; env replaces the test's environment
// variables it names.
func startWorker(t *testing.T, name, bin string, env []string, args ...string) *watchWorker {
	t.Helper()
	w := &watchWorker{name: name, stderr: &lockedBuilder{}, done: make(chan struct{})}
	w.cmd = exec.Command(bin, append([]string{"watch"}, args...)...)
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stderr = w.stderr
	out, err := w.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, w.cmd.Start())
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l watch.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = watch.Line{Type: "not-json", Message: sc.Text()}
			}
			w.mu.Lock()
			w.lines = append(w.lines, l)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		_ = w.cmd.Wait()
		if t.Failed() {
			t.Logf("worker %s stderr:\n%s", w.name, w.stderr.String())
		}
	})
	return w
}

func (w *watchWorker) snapshot() []watch.Line {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]watch.Line(nil), w.lines...)
}

// waitFor waits for a line that matches and returns it.
func (w *watchWorker) waitFor(t *testing.T, within time.Duration, what string, match func(watch.Line) bool) watch.Line {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, l := range w.snapshot() {
			if match(l) {
				return l
			}
		}
		select {
		case <-w.done:
			t.Fatalf("worker %s ended before %s; stderr:\n%s", w.name, what, w.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Its goroutines' stacks say where it is stuck.
	_ = w.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
	}
	t.Fatalf("worker %s: no %s within %s; lines: %+v\nstderr:\n%s", w.name, what, within, w.snapshot(), w.stderr.String())
	return watch.Line{}
}

// terminate sends SIGTERM and returns the exit code and the counters line.
func (w *watchWorker) terminate(t *testing.T) (int, *watch.Counters) {
	t.Helper()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("worker %s did not stop on SIGTERM", w.name)
	}
	err := w.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	for _, l := range w.snapshot() {
		if l.Type == "worker" && l.Result == "stopped" {
			return code, l.Counters
		}
	}
	return code, nil
}

func isAccount(id string, action watch.Action) func(watch.Line) bool {
	return func(l watch.Line) bool {
		return l.Type == "account" && l.Account == id && l.Action == action && (l.Result == "succeeded" || l.Result == "unchanged")
	}
}

func isStarted(l watch.Line) bool { return l.Type == "worker" && l.Result == "started" }

// watchArgs are a worker's flags: fast polling and short timeouts for tests.
func (f *realFleet) watchArgs(t *testing.T, queueURL string, extra ...string) []string {
	return append([]string{"--queue-url", queueURL, "--vendor", "streamkap", "--ou", "Root/Workloads",
		"--backend", f.backend, "--run-dir", t.TempDir(), "--parallel", "1", "--poll-wait", "1s",
		"--visibility", "10s", "--retry-backoff", "1s", "--max-backoff", "2s", "--grace", "30s"}, extra...)
}

// TestWatchWithRealProvider runs two watch workers on one queue against a moto organization,
// with the real CLI and an AWS provider. Twenty account events and a poison one: each account
// is onboarded exactly once, neither worker waits while messages do, a worker killed
// mid-account has its message finished by the other (which takes the dead worker's stack lock
// over), and the poison event goes to the dead-letter queue after its receives without holding
// up the rest. Then, with the surviving worker: an account created and moved into the OU is
// onboarded from its event put through EventBridge, and offboarded (--prune) when it moves
// out; SIGTERM ends the worker with exit 0 and its counters.
func TestWatchWithRealProvider(t *testing.T) {
	const n = 20
	f := newRealFleetWith(t, n+1, testenv.WithoutManagedPolicies())
	ids, poison := f.ids[:n], f.ids[n]
	cfg := f.m.AWSConfig(t)
	// The execution role cannot be entered in the poison account.
	proxy := testenv.StartFaultProxy(t, f.m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action == "AssumeRole" && strings.Contains(c.Params.Get("RoleArn"), poison) {
			return testenv.AccessDenied
		}
		return nil
	})
	env := []string{"AWS_ENDPOINT_URL=" + proxy.URL}
	q := testenv.CreateEventQueue(t, cfg, "org-events", 3, 30*time.Second)
	testenv.RouteOrganizationsEvents(t, cfg, "org-events", q.ARN)
	bin := testenv.RolloutBinary(t)
	a := startWorker(t, "a", bin, env, f.watchArgs(t, q.URL, "--prune")...)
	b := startWorker(t, "b", bin, env, f.watchArgs(t, q.URL, "--prune")...)
	started := time.Now()
	a.waitFor(t, 3*time.Minute, "start", isStarted)
	b.waitFor(t, 3*time.Minute, "start", isStarted)
	t.Logf("workers started in %s", time.Since(started).Round(time.Second))

	t.Run("two workers, 20 accounts, one worker killed, a poison event", func(t *testing.T) {
		twoWorkers(t, f, q, a, b, ids, poison)
	})
	if t.Failed() {
		return
	}
	t.Run("an account created, then moved out of the OU", func(t *testing.T) {
		onboardOffboard(t, f, b)
	})
	code, c := b.terminate(t)
	require.Equal(t, 0, code, "SIGTERM ends the worker with exit 0")
	require.NotNil(t, c, "the counters are printed on exit")
	t.Logf("worker b: %+v", *c)
	require.Equal(t, 1, c.Offboarded)
	require.Equal(t, 1, c.NoAction)
	require.Equal(t, 1, c.DeadLettered)
	f.provider.RequireNoLeftovers(t, 20*time.Second)
}

// onboardOffboard: an account created in the root and moved into the selected OU, as an
// account factory does, is onboarded from its creation's event; moved out, it is offboarded.
func onboardOffboard(t *testing.T, f *realFleet, w *watchWorker) {
	cfg := f.m.AWSConfig(t)
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	sandbox, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(f.org.RootID), Name: aws.String("Sandbox")})
	require.NoError(t, err)

	// The account is created in the root and moved into the selected OU, as an account
	// factory does; only then does its creation's event arrive.
	id := testenv.AddAccountsWith(t, cfg, "joiner", 1)[0]
	_, err = org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(f.org.RootID), DestinationParentId: aws.String(f.org.OUs["Root/Workloads"])})
	require.NoError(t, err)
	put := time.Now()
	testenv.PutOrganizationsEvent(t, cfg, "CreateAccountResult", id)
	received := w.waitFor(t, 30*time.Second, "the event", func(l watch.Line) bool {
		return l.Type == "event" && l.Result == "received" && strings.Contains(l.Message, id)
	})
	done := w.waitFor(t, 3*time.Minute, "the onboarding", isAccount(id, watch.ActionOnboard))
	t.Logf("event put through EventBridge; received after %s, account onboarded %s after that (%.1fs of work)",
		received.Time.Sub(put).Round(time.Millisecond), done.Time.Sub(received.Time).Round(time.Millisecond), done.Duration)
	require.Less(t, received.Time.Sub(put), 10*time.Second, "the worker takes the message as it arrives")
	require.Less(t, done.Time.Sub(received.Time), 90*time.Second, "the account is onboarded within seconds of its message")
	require.NotNil(t, done.Handoff, "the handoff is printed")
	require.Equal(t, id, done.Handoff.AccountID)
	require.Equal(t, "arn:aws:iam::"+id+":role/StreamkapInstallAccess", done.Handoff.RoleArns["StreamkapInstallAccess"])
	require.Equal(t, "Root/Workloads", done.Handoff.OUPath, "the OU is read from Organizations")
	f.requireLiveEqualsRender(t, id, "--vendor", "streamkap")

	// Out of the OU: offboarded, with --prune.
	_, err = org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(f.org.OUs["Root/Workloads"]), DestinationParentId: sandbox.OrganizationalUnit.Id})
	require.NoError(t, err)
	testenv.PutOrganizationsEvent(t, cfg, "MoveAccount", id)
	off := w.waitFor(t, 3*time.Minute, "the offboarding", isAccount(id, watch.ActionOffboard))
	require.Contains(t, off.Message, "not selected")
	require.Empty(t, f.vendorEntities(t, id), "nothing of Streamkap is left")
	require.NotContains(t, f.stacks(t), id, "the stack is removed")

	// An account that was never a target, moved within the unselected part: nothing to do.
	testenv.PutOrganizationsEvent(t, cfg, "MoveAccount", id)
	w.waitFor(t, time.Minute, "no action", func(l watch.Line) bool { return l.Type == "account" && l.Account == id && l.Result == "no-action" })
}

// twoWorkers sends the 20 accounts' events and the poison one to both workers.
func twoWorkers(t *testing.T, f *realFleet, q testenv.EventQueue, a, b *watchWorker, ids []string, poison string) {
	n := len(ids)
	cfg := f.m.AWSConfig(t)
	var bodies []string
	for i, id := range ids {
		if i == 3 {
			bodies = append(bodies, testenv.OrganizationsEvent("poison", "CreateAccountResult", poison))
		}
		bodies = append(bodies, testenv.OrganizationsEvent("join-"+id, "CreateAccountResult", id))
	}
	testenv.SendEvents(t, cfg, q.URL, bodies...)

	// Once both have onboarded two accounts, a is killed in the middle of its next one, while
	// its CLI holds the stack's lock.
	onboarded := func(w *watchWorker) map[string]bool {
		out := map[string]bool{}
		for _, l := range w.snapshot() {
			if l.Type == "account" && l.Action == watch.ActionOnboard && l.Result == "succeeded" {
				out[l.Account] = true
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(onboarded(a)) >= 2 && len(onboarded(b)) >= 2 }, 5*time.Minute, 200*time.Millisecond,
		"both workers onboard accounts")
	killed := ""
	deadline := time.Now().Add(3 * time.Minute)
	for killed == "" && time.Now().Before(deadline) {
		var current string
		for _, l := range a.snapshot() {
			if l.Type == "event" && l.Result == "received" && strings.HasPrefix(l.EventID, "join-") {
				current = strings.TrimPrefix(l.EventID, "join-")
			}
		}
		if current != "" && !onboarded(a)[current] {
			locks, _ := filepath.Glob(filepath.Join(f.stateDir, ".pulumi", "locks", "*", "*", current, "*.json"))
			if len(locks) > 0 {
				require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
				killed = current
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NotEmpty(t, killed, "worker a was caught holding a stack lock")
	t.Logf("worker a SIGKILLed while onboarding %s", killed)

	// b finishes everything, the killed account included; only the poison event is
	// dead-lettered.
	deadline = time.Now().Add(8 * time.Minute)
	for {
		all := map[string]bool{}
		for k := range onboarded(a) {
			all[k] = true
		}
		for k := range onboarded(b) {
			all[k] = true
		}
		done := 0
		for _, id := range ids {
			if all[id] {
				done++
			}
		}
		v, fl := testenv.QueueDepth(t, cfg, q.DLQURL)
		if v+fl > 1 {
			t.Fatalf("%d messages in the dead-letter queue, not just the poison event; worker b: %+v", v+fl, b.snapshot())
		}
		if done == n && v+fl == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accounts onboarded, %d messages dead-lettered", done, n, v+fl)
		}
		time.Sleep(time.Second)
	}

	took := b.waitFor(t, time.Second, "the killed account", isAccount(killed, watch.ActionOnboard))
	require.Contains(t, took.Message, "took over the stack lock of", "the dead worker's lock was taken over")
	require.GreaterOrEqual(t, took.Receive, 2, "the message was redelivered")
	f.requireLiveEqualsRender(t, killed, "--vendor", "streamkap")

	// Exactly once: one onboarding per account over both workers (the killed one finished none).
	count := map[string]int{}
	var lines []watch.Line
	for _, w := range []*watchWorker{a, b} {
		for _, l := range w.snapshot() {
			lines = append(lines, l)
			if l.Type == "account" && l.Action == watch.ActionOnboard && l.Result == "succeeded" {
				count[l.Account]++
			}
		}
	}
	for _, id := range ids {
		require.Equal(t, 1, count[id], "account %s onboarded once", id)
		require.NotEmpty(t, f.vendorEntities(t, id))
	}
	require.Empty(t, f.vendorEntities(t, poison))

	// The poison event: tried maxReceiveCount times, then named as going to the dead-letter queue.
	var poisonTries int
	var deadLetter *watch.Line
	for i, l := range lines {
		if l.Type == "account" && l.Account == poison {
			poisonTries++
			require.Equal(t, "failed", l.Result)
			require.Contains(t, l.Error, "assume-role")
		}
		if l.Result == "dead-letter" {
			deadLetter = &lines[i]
		}
	}
	require.Equal(t, 3, poisonTries)
	require.NotNil(t, deadLetter)
	require.Equal(t, q.DLQARN, deadLetter.DeadLetterQueue)
	msgs, err := sqs.NewFromConfig(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.DLQURL)})
	require.NoError(t, err)
	require.Len(t, msgs.Messages, 1)
	require.Contains(t, aws.ToString(msgs.Messages[0].Body), poison)

	for _, w := range []*watchWorker{a, b} {
		var k int
		var secs float64
		for _, l := range w.snapshot() {
			if l.Type == "account" && l.Action == watch.ActionOnboard && l.Result == "succeeded" {
				k++
				secs += l.Duration
			}
		}
		if k > 0 {
			t.Logf("worker %s onboarded %d accounts, %.1fs each on average", w.name, k, secs/float64(k))
		}
	}

	// Neither worker waits while messages do: between finishing one event and taking the next,
	// a worker is idle for no more than a poll or two as long as some event was never received.
	firstSeen := map[string]time.Time{}
	for _, l := range lines {
		if l.Type == "event" && l.Result == "received" {
			if t0, ok := firstSeen[l.EventID]; !ok || l.Time.Before(t0) {
				firstSeen[l.EventID] = l.Time
			}
		}
	}
	waiting := func(at time.Time) bool {
		seen := 0
		for _, t0 := range firstSeen {
			if !t0.After(at) {
				seen++
			}
		}
		return seen < len(bodies)
	}
	for _, w := range []*watchWorker{a, b} {
		var finished time.Time
		for _, l := range w.snapshot() {
			switch {
			case l.Type == "event" && l.Result == "received" && !finished.IsZero() && waiting(finished):
				require.Less(t, l.Time.Sub(finished), 5*time.Second, "worker %s idle while messages waited", w.name)
			case l.Type == "event" && (l.Result == "succeeded" || l.Result == "failed"):
				finished = l.Time
			}
		}
	}

}

// watch setup creates the queue, the dead-letter queue and the rule, whose pattern lets the
// worker's events through; --destroy removes them.
func TestWatchSetupWithRealProvider(t *testing.T) {
	f := newRealFleetWith(t, 1, testenv.WithoutManagedPolicies())
	cfg := f.m.AWSConfig(t)
	ctx := context.Background()
	sq := sqs.NewFromConfig(cfg)
	eb := eventbridge.NewFromConfig(cfg)
	setupArgs := func(extra ...string) []string {
		return append([]string{"watch", "setup", "--queue-name", "org-events", "--max-receive-count", "4", "--backend", f.backend, "--run-dir", t.TempDir()}, extra...)
	}
	queueGone := func() bool {
		_, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("org-events")})
		return err != nil
	}

	out, errOut, code := runCLI(t, setupArgs("--preview")...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "6 to create", "the two queues, the policy, the rule, its target, and the stack")
	require.True(t, queueGone(), "a preview creates nothing")

	out, errOut, code = runCLI(t, setupArgs()...)
	require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
	var queueURL string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "queueUrl: "); ok {
			queueURL = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, queueURL, "the queue URL is printed: %s", out)
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	require.NoError(t, err)
	require.Contains(t, attrs.Attributes["RedrivePolicy"], "org-events-dlq")
	require.Contains(t, attrs.Attributes["RedrivePolicy"], "4")
	require.Contains(t, attrs.Attributes["Policy"], "events.amazonaws.com")
	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("org-events")})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(rule.EventPattern), "CreateAccountResult")
	tg, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("org-events")})
	require.NoError(t, err)
	require.Len(t, tg.Targets, 1)
	require.Equal(t, attrs.Attributes["QueueArn"], aws.ToString(tg.Targets[0].Arn))

	// The rule's pattern lets an account's creation through to the queue, as the worker reads it.
	testenv.PutOrganizationsEvent(t, cfg, "CreateAccountResult", f.ids[0])
	msgs, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 5})
	require.NoError(t, err)
	require.Len(t, msgs.Messages, 1)
	ev, err := watch.ParseEvent([]byte(aws.ToString(msgs.Messages[0].Body)))
	require.NoError(t, err)
	require.Equal(t, []string{f.ids[0]}, ev.Accounts)

	// Unchanged: a second setup is skipped by its fingerprint.
	out, errOut, code = runCLI(t, setupArgs()...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "queueUrl: "+queueURL)

	out, errOut, code = runCLI(t, setupArgs("--destroy")...)
	require.Equal(t, exitOK, code, "%s\n%s", out, errOut)
	require.True(t, queueGone(), "the queue is gone")
	_, err = sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("org-events-dlq")})
	require.Error(t, err, "the dead-letter queue is gone")
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("org-events")})
	require.Error(t, err, "the rule is gone")
	for _, s := range f.stacks(t) {
		require.NotContains(t, s, "watch-setup", "the setup stack is removed")
	}
	f.provider.RequireNoLeftovers(t, 20*time.Second)
}

// watch's flags are checked before anything is read or deployed: exit 2, naming the flag.
func TestWatchBadInput(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", testPassphrase)
	t.Setenv("BYOC_WATCH_QUEUE_URL", "")
	state := t.TempDir()
	base := []string{"watch", "--vendor", "streamkap", "--backend", "file://" + state}
	q := []string{"--queue-url", "https://sqs.us-east-1.amazonaws.com/111122223333/org-events"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no queue", base, []string{"--queue-url is required"}},
		{"not a URL", append(append([]string{}, base...), "--queue-url", "org-events"), []string{"--queue-url", "want the queue's URL"}},
		{"shard", append(append(append([]string{}, base...), q...), "--shard", "1/2"), []string{"--shard", "SQS hands out the accounts"}},
		{"accounts file", append(append(append([]string{}, base...), q...), "--accounts-file", "accounts.csv"), []string{"--accounts-file"}},
		{"visibility", append(append(append([]string{}, base...), q...), "--visibility", "1s"), []string{"--visibility 1s"}},
		{"reconcile", append(append(append([]string{}, base...), q...), "--reconcile-every", "5s"), []string{"--reconcile-every 5s"}},
		{"backoff", append(append(append([]string{}, base...), q...), "--retry-backoff", "1m", "--max-backoff", "10s"), []string{"--retry-backoff 1m0s"}},
		{"stale lock within the timeout", append(append(append([]string{}, base...), q...), "--stale-lock-after", "10m"), []string{"--stale-lock-after 10m0s must be longer than --timeout 15m0s"}},
		{"setup queue name", []string{"watch", "setup", "--queue-name", "bad name!"}, []string{"--queue-name"}},
		{"setup receives", []string{"watch", "setup", "--max-receive-count", "0"}, []string{"--max-receive-count 0"}},
		{"setup preview and destroy", []string{"watch", "setup", "--preview", "--destroy"}, []string{"--preview and --destroy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireUsageError(t, state, tc.want, tc.args...)
		})
	}
}

// --reconcile-every: two workers start at once, one of them runs the full sync (which onboards
// the accounts no event named) while the other skips it, held off by the lock in the backend.
func TestWatchReconcileWithRealProvider(t *testing.T) {
	f := newRealFleetWith(t, 2, testenv.WithoutManagedPolicies())
	cfg := f.m.AWSConfig(t)
	q := testenv.CreateEventQueue(t, cfg, "org-events", 3, 30*time.Second)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	type run struct {
		out, errOut lockedBuilder
		code        chan int
	}
	runs := []*run{{code: make(chan int, 1)}, {code: make(chan int, 1)}}
	for _, r := range runs {
		go func() {
			root := newRootCmd()
			root.SetOut(&r.out)
			root.SetErr(&r.errOut)
			root.SetArgs(append([]string{"watch"}, f.watchArgs(t, q.URL, "--reconcile-every", "1h")...))
			r.code <- codeOf(root.ExecuteContext(ctx))
		}()
	}
	lines := func(r *run) []watch.Line {
		var out []watch.Line
		for _, s := range strings.Split(strings.TrimSpace(r.out.String()), "\n") {
			var l watch.Line
			if json.Unmarshal([]byte(s), &l) == nil && l.Type == "reconcile" {
				out = append(out, l)
			}
		}
		return out
	}
	// Polled here, not in require.Eventually, whose condition runs on another goroutine
	// where a failure cannot stop the test.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		done, skipped := 0, 0
		for _, r := range runs {
			for _, l := range lines(r) {
				switch l.Result {
				case "succeeded":
					done++
				case "skipped":
					skipped++
				case "failed":
					t.Fatalf("reconcile failed: %+v\n%s", l, r.errOut.String())
				}
			}
		}
		require.LessOrEqual(t, done, 1, "both workers reconciled")
		if done == 1 && skipped == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "one worker reconciles, the other skips: %d done, %d skipped", done, skipped)
		time.Sleep(time.Second)
	}
	stop()
	for _, r := range runs {
		require.Equal(t, exitOK, <-r.code, r.errOut.String())
	}
	for _, r := range runs {
		for _, l := range lines(r) {
			if l.Result == "skipped" {
				require.Contains(t, l.Message, "another worker is reconciling")
			}
			if l.Result == "succeeded" {
				require.Contains(t, l.Message, "2 accounts: 2 succeeded")
			}
		}
	}
	for _, id := range f.ids {
		require.NotEmpty(t, f.vendorEntities(t, id), "account %s onboarded by the reconcile, without any event", id)
	}
	_, err := os.Stat(filepath.Join(f.stateDir, filepath.FromSlash(watch.ReconcileLockKey)))
	require.True(t, os.IsNotExist(err), "the reconcile lock is released")
	f.provider.RequireNoLeftovers(t, 20*time.Second)
}
