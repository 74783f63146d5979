package rollout

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

func sampleReport() *Report {
	rep := &Report{Operation: OpUp, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 42 * time.Second,
		Backend: "file:///state", MaxFailures: "10%", Results: []Result{
			{Account: targets.Account{ID: "222222222222", Name: "app | prod", OUPath: "Root/Workloads"}, Status: StatusFailed,
				Kind: KindProgram, Error: "parameter \"external_id\": is required", Duration: 1500 * time.Millisecond},
			{Account: targets.Account{ID: "111111111111", Name: "data", OUPath: "Root/Data"}, Status: StatusSucceeded,
				Duration: 3 * time.Second, Changes: map[string]int{"create": 5, "same": 1},
				RoleArns:   map[string]string{"B": "arn:aws:iam::111111111111:role/B", "A": "arn:aws:iam::111111111111:role/A"},
				ExternalID: "o-abc"},
			{Account: targets.Account{ID: "333333333333"}, Status: StatusSucceeded, Changes: map[string]int{"same": 6}},
			{Account: targets.Account{ID: "444444444444"}, Status: StatusNotStarted, Error: "not started: more than 10% accounts failed (--max-failures)"},
		}}
	rep.count()
	return rep
}

func TestCounts(t *testing.T) {
	rep := sampleReport()
	require.Equal(t, Counts{Total: 4, Succeeded: 2, Failed: 1, NotStarted: 1, Changed: 1, Unchanged: 1,
		Changes: map[string]int{"create": 5, "same": 7}}, rep.Counts)
	require.Equal(t, "111111111111", rep.Results[0].Account.ID, "results are sorted by account")
	require.True(t, rep.Failed())
	require.Equal(t, "5 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged", TotalsText(rep.Counts.Changes))
	require.Equal(t, "+5 ~0 -0 =1", ChangeText(rep.Results[0].Changes))
}

func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, sampleReport().WriteFiles(dir))

	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, sampleReport().Counts, back.Counts)
	require.Equal(t, KindProgram, back.Results[1].Kind)

	f, err := os.Open(filepath.Join(dir, "report.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 5)
	require.Equal(t, []string{"account_id", "name", "ou_path", "result", "kind", "duration_s", "changes", "role_arns", "external_id", "error"}, rows[0])
	require.Equal(t, []string{"111111111111", "data", "Root/Data", "succeeded", "", "3.0", "+5 ~0 -0 =1",
		"arn:aws:iam::111111111111:role/A arn:aws:iam::111111111111:role/B", "o-abc", ""}, rows[1])
	require.Equal(t, "program", rows[2][4])
	require.Equal(t, `parameter "external_id": is required`, rows[2][9])

	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	text := string(md)
	require.Contains(t, text, "4 accounts: 2 succeeded (1 changed, 1 unchanged), 1 failed, 0 skipped, 1 not started")
	require.Contains(t, text, "Resources: 5 to create")
	require.Contains(t, text, `| 222222222222 | app \| prod | Root/Workloads | failed |`, "a pipe in a name stays in its cell")
	require.Contains(t, text, "arn:aws:iam::111111111111:role/A<br>arn:aws:iam::111111111111:role/B")
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "| 1") || strings.HasPrefix(line, "| 2") {
			require.Equal(t, 10, strings.Count(line, "|")-strings.Count(line, `\|`), line)
		}
	}
}

func TestStackName(t *testing.T) {
	require.Equal(t, "123456789012", StackName("", "123456789012"))
	require.Equal(t, "prod-123456789012", StackName("prod", "123456789012"))
	require.NoError(t, validateStackPrefix("team_a.prod-1"))
	require.Error(t, validateStackPrefix("bad prefix"))
	require.Error(t, validateStackPrefix("a/b"))
	require.Error(t, validateStackPrefix(strings.Repeat("p", 81)))
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	engine := func(lines ...string) error { return errors.New(strings.Join(lines, "\n")) }
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		kind   Kind
		reason string
		is     func(error) bool
	}{
		// A program's failure is the error its language server recorded, whatever the CLI
		// printed around it.
		{"program error", ctx, &ProgramError{Stack: "s", Err: errors.New(`VendorAccess vendor: parameter "external_id": is required`), Engine: engine(
			"failed to run update: exit status 255",
			"code: 255",
			"stderr: error: an unhandled error occurred: program failed:",
			"1 error occurred:",
			"\t* VendorAccess vendor: parameter \"external_id\": is required",
			"goroutine 1 [running]:")}, KindProgram, `VendorAccess vendor: parameter "external_id": is required`, IsProgramError},
		{"program error that mentions throttling", ctx, &ProgramError{Stack: "s", Err: errors.New("lookup: api error Throttling: Rate exceeded"),
			Engine: engine("stdout: error: an unhandled error occurred: 1 error occurred:", "\t* lookup: api error Throttling: Rate exceeded")},
			KindProgram, "lookup: api error Throttling: Rate exceeded", IsProgramError},
		{"program error that mentions a lock", ctx, &ProgramError{Stack: "s", Err: errors.New("the stack is currently locked by me; [409] Conflict")},
			KindProgram, "the stack is currently locked by me; [409] Conflict", IsProgramError},
		{"resource throttled", ctx, &ResourceError{Stack: "s", URN: "urn:pulumi:s::p::aws:iam/role:Role::x",
			Message: "creating IAM Role (x): operation error IAM: CreateRole, api error Throttling: Rate exceeded\n", Engine: engine("code: 1")},
			KindThrottled, "creating IAM Role (x): operation error IAM: CreateRole, api error Throttling: Rate exceeded", IsThrottled},
		{"resource plugin missing", ctx, &ResourceError{Stack: "s", URN: "urn:pulumi:s::p::pulumi:providers:aws::default_6_83_0",
			Message: "no resource plugin 'pulumi-resource-aws' found in the workspace or on your $PATH\n"},
			KindPluginMissing, "no resource plugin 'pulumi-resource-aws' found in the workspace or on your $PATH", IsPluginMissing},
		{"throttled", ctx, engine("stderr: error: creating IAM Role (x): operation error IAM: CreateRole, api error Throttling: Rate exceeded"),
			KindThrottled, "creating IAM Role (x): operation error IAM: CreateRole, api error Throttling: Rate exceeded", IsThrottled},
		{"lock held", ctx, engine("stderr: error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
			"  file:///state/.pulumi/locks/organization/byoc-access/1/x.json: created by alice@ci-7 (pid 4242) at 2026-01-02T03:04:05Z"),
			KindLockHeld, "the stack is locked by alice@ci-7 (pid 4242) at 2026-01-02T03:04:05Z; pass --wait-lock to wait for it, or run `rollout unlock` if that run is gone", IsLockHeld},
		{"plugin missing", ctx, engine("stderr: error: could not load plugin for aws provider 'default_6_83_0': no resource plugin 'pulumi-resource-aws' found in the workspace at version v6.83.0"),
			KindPluginMissing, "", IsPluginMissing},
		{"assume role", ctx, &access.AssumeRoleError{AccountID: "111111111111", RoleARN: "arn:aws:iam::111111111111:role/X", Err: errors.New("AccessDenied: no")},
			KindAssumeRole, "account 111111111111: assume role arn:aws:iam::111111111111:role/X: AccessDenied: no", IsAssumeRoleDenied},
		{"timeout", expired(t), engine("signal: interrupt"), KindTimeout, "timed out: the operation ran past --timeout and was cancelled", IsTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := classify(tt.ctx, "111111111111", tt.err)
			require.Equal(t, tt.kind, ae.Kind)
			if tt.reason != "" {
				require.Equal(t, tt.reason, ae.Reason)
			}
			require.NotContains(t, ae.Reason, "goroutine")
			require.True(t, tt.is(ae))
			require.Equal(t, tt.kind == KindThrottled, retryable(ae, false))
		})
	}
}

func expired(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	t.Cleanup(cancel)
	<-ctx.Done()
	return ctx
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	for attempt := 0; attempt < 8; attempt++ {
		want := time.Second << attempt
		if want > 30*time.Second {
			want = 30 * time.Second
		}
		d := backoff(time.Second, attempt)
		require.GreaterOrEqual(t, d, want/2, "attempt %d", attempt)
		require.LessOrEqual(t, d, want, "attempt %d", attempt)
	}
}
