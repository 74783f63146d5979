package rollout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// scaleOps are the operations of the scale benchmark, in order: everything a fleet's owner
// runs in a day, then the offboarding.
var scaleOps = []string{"first", "re-run", "plan", "drift", "status", "handoff", "destroy"}

func scaleSizes(b *testing.B) []int {
	env := os.Getenv("BYOC_BENCH_SCALE")
	if env == "" {
		env = "1000"
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("BYOC_BENCH_SCALE=%s: want account counts such as 200,1000", env)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkFleetScale is the rollout alone granting Streamkap its access (the streamkap preset,
// with an external ID) in one organization of N accounts (1,000 unless
// BYOC_BENCH_SCALE), in one run: the first rollout, an unchanged re-run, a plan, a drift
// check, status, handoff and destroy, on an S3 backend in moto (BYOC_BENCH_SCALE_BACKEND=file
// for a file backend). For each it reports the wall time, CPU per account, peak memory of the
// process tree (RSS summed, and shared pages counted once), the backend's size and the size
// of what the run wrote (its run directory and its report on stdout). After the first rollout
// every account's IAM is read back with the SDK.
func BenchmarkFleetScale(b *testing.B) {
	if _, err := pulumiCLIForBench(); err != nil {
		testenv.Missing(b, "%v", err)
	}
	provider := testenv.UseAWSProvider(b)
	bin := rolloutBinary(b)
	// The rollout's own default parallelism (fitted to the machine's cores and memory), as
	// users run it, unless BYOC_BENCH_SCALE_PARALLEL sets one.
	parallel, bundle := rollout.DefaultParallel(true), benchCABundle(b)
	if n, err := strconv.Atoi(os.Getenv("BYOC_BENCH_SCALE_PARALLEL")); err == nil && n > 0 {
		parallel = n
	}
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchScaleOnce(b, provider, bin, n, parallel, bundle)
			}
		})
	}
}

type scaleResult struct {
	measurement
	// written is the size of the run directory and the report on stdout.
	written, stdout int64
	// backend is the state backend's size after the operation.
	backend int64
	// moto is moto_server's CPU time over the operation: the emulated AWS (IAM, STS,
	// Organizations, and S3 for an S3 backend), on the same cores.
	moto time.Duration
}

func benchScaleOnce(b *testing.B, provider testenv.AWSProvider, bin string, n, parallel int, bundle string) {
	ctx := context.Background()
	// Without AWS-managed policies: with them moto loads its ~1,300 managed policies into every
	// account it creates, about 13 MB and half a second each, and at 1,000 accounts (13 GB)
	// stopped answering within a minute. So the vendor is Streamkap, whose preset attaches
	// none; StreamNative's attaches ReadOnlyAccess.
	m := testenv.StartMoto(b, testenv.WithoutManagedPolicies())
	m.UseInEnv(b)
	b.Setenv("AWS_CA_BUNDLE", bundle)

	seedStart := time.Now()
	org := testenv.SeedOrganization(b, m, testenv.OrgSpec{OUs: []string{"Scale", "Warmup"},
		Accounts: []testenv.AccountSpec{{Name: "warmup", OU: "Warmup"}}})
	ids := testenv.AddAccounts(b, m, "scale", n)
	orgs := organizations.NewFromConfig(m.AWSConfig(b))
	for _, id := range ids {
		_, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
			SourceParentId: aws.String(org.RootID), DestinationParentId: aws.String(org.OUs["Root/Scale"])})
		require.NoError(b, err)
	}
	seeded := time.Since(seedStart)

	work := b.TempDir()
	backendKind := os.Getenv("BYOC_BENCH_SCALE_BACKEND")
	var backendURL string
	var size func() int64
	switch backendKind {
	case "", "s3":
		backendKind = "s3"
		s3c := s3.NewFromConfig(m.AWSConfig(b), func(o *s3.Options) { o.UsePathStyle = true })
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("byoc-bench-state")})
		require.NoError(b, err)
		backendURL = "s3://byoc-bench-state?endpoint=" + m.Endpoint + "&s3ForcePathStyle=true&region=us-east-1"
		size = func() int64 {
			var total int64
			p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String("byoc-bench-state")})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				require.NoError(b, err)
				for _, o := range page.Contents {
					total += aws.ToInt64(o.Size)
				}
			}
			return total
		}
	case "file":
		dir := filepath.Join(work, "state")
		require.NoError(b, os.MkdirAll(dir, 0o755))
		backendURL = "file://" + dir
		size = func() int64 { return dirSize(b, dir) }
	default:
		b.Fatalf("BYOC_BENCH_SCALE_BACKEND=%s: want s3 or file", backendKind)
	}

	params := []string{"--vendor", "streamkap", "--param", "external_id=" + benchExternalID}
	side := rolloutSide{bin: bin, runs: filepath.Join(work, "runs"),
		args: append(append([]string{}, params...), "--ou", "Root/Scale", "--parallel", strconv.Itoa(parallel), "--backend", backendURL)}
	secrets := benchSecrets(b)
	if secrets == "awskms" {
		side.useKMS(b, m)
	}

	// Warm-up, not measured, on a backend of its own: the CLI, the provider and the Terraform
	// provider binary into the page cache.
	warm := rolloutSide{bin: bin, runs: side.runs, args: append(append([]string{}, params...), "--ou", "Root/Warmup",
		"--backend", "file://"+filepath.Join(work, "warmup-state"))}
	require.NoError(b, os.MkdirAll(filepath.Join(work, "warmup-state"), 0o755))
	warmStart := time.Now()
	warm.run(b, nil, "up", "warmup")
	warmed := time.Since(warmStart)

	results := map[string]scaleResult{}
	report := func(op, name string, check func(rollout.Report)) {
		var out []byte
		res := scaleResult{}
		motoBefore := processCPU(b, m.Pid)
		res.measurement = measure(false, func(tree *testenv.ProcTree) {
			rep, stdout := side.runOut(b, tree, op, name)
			out = stdout
			check(rep)
		})
		res.moto = processCPU(b, m.Pid) - motoBefore
		res.written, res.stdout, res.backend = dirSize(b, filepath.Join(side.runs, name)), int64(len(out)), size()
		results[name] = res
	}
	report("up", "first", func(rep rollout.Report) {
		require.Equal(b, n, rep.Counts.Succeeded, "%+v", rep.Counts)
		require.Equal(b, n, rep.Counts.Changed)
	})
	// Every account holds Streamkap's role and policies, alike.
	want := ""
	for _, id := range ids {
		got := streamkapFootprint(ctx, b, m, id)
		if want == "" {
			want = got
		}
		require.Equal(b, want, got, "account %s differs from the first account checked", id)
	}
	report("up", "re-run", func(rep rollout.Report) { require.Equal(b, n, rep.Counts.UpToDate, "%+v", rep.Counts) })
	report("plan", "plan", func(rep rollout.Report) {
		require.Equal(b, n, rep.Counts.Succeeded, "%+v", rep.Counts)
		require.Zero(b, rep.Counts.Changed)
	})
	report("drift", "drift", func(rep rollout.Report) {
		require.Equal(b, n, rep.Counts.Succeeded, "%+v", rep.Counts)
		require.Zero(b, rep.Counts.Drifted)
	})
	report("status", "status", func(rep rollout.Report) { require.Equal(b, n, rep.Counts.Succeeded, "%+v", rep.Counts) })

	// handoff prints what the vendor needs, not a run report: one entry per account.
	res := scaleResult{}
	var handoff []byte
	motoBefore := processCPU(b, m.Pid)
	res.measurement = measure(false, func(tree *testenv.ProcTree) {
		handoff = side.runRaw(b, tree, "handoff", "handoff", "--as", "json")
	})
	res.moto = processCPU(b, m.Pid) - motoBefore
	var entries []json.RawMessage
	require.NoError(b, json.Unmarshal(handoff, &entries), "handoff --as json: %s", tail(string(handoff), 500))
	require.Len(b, entries, n)
	res.written, res.stdout, res.backend = dirSize(b, filepath.Join(side.runs, "handoff")), int64(len(handoff)), size()
	results["handoff"] = res

	report("destroy", "destroy", func(rep rollout.Report) { require.Equal(b, n, rep.Counts.Succeeded, "%+v", rep.Counts) })
	provider.RequireNoLeftovers(b, 30*time.Second)

	printScaleBench(os.Stdout, n, parallel, provider.String(), backendKind, secrets, bundle, seeded, warmed, want, results)
	b.ReportMetric(results["first"].wall.Seconds(), "first-s")
	b.ReportMetric(results["re-run"].wall.Seconds(), "rerun-s")
	peak := int64(0)
	for _, r := range results {
		peak = max(peak, r.usage.PeakRSS)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-summed-MiB")
}

// streamkapFootprint describes the account's Streamkap role and policies without its account
// ID; it fails unless the preset's role and two policies are there, both attached.
func streamkapFootprint(ctx context.Context, b *testing.B, m *testenv.Moto, accountID string) string {
	b.Helper()
	client := iam.NewFromConfig(m.MemberConfig(b, accountID))
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("StreamkapInstallAccess")})
	require.NoError(b, err, "account %s", accountID)
	trust, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	require.NoError(b, err)
	require.Contains(b, trust, benchExternalID, "account %s: the trust policy requires the external ID", accountID)
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("StreamkapInstallAccess")})
	require.NoError(b, err, "account %s", accountID)
	var att []string
	for _, p := range attached.AttachedPolicies {
		att = append(att, aws.ToString(p.PolicyArn))
	}
	slices.Sort(att)
	require.Equal(b, []string{"arn:aws:iam::" + accountID + ":policy/StreamkapDeprovisionAccess",
		"arn:aws:iam::" + accountID + ":policy/StreamkapProvisionAccess"}, att, "account %s", accountID)
	var compact bytes.Buffer
	require.NoError(b, json.Compact(&compact, []byte(trust)))
	return strings.ReplaceAll(fmt.Sprintf("role StreamkapInstallAccess trust=%s attached=%s", compact.String(), strings.Join(att, ",")), accountID, "ACCOUNT")
}

// runOut is run, with the report's bytes on stdout.
func (s rolloutSide) runOut(b *testing.B, tree *testenv.ProcTree, op, name string) (rollout.Report, []byte) {
	b.Helper()
	out := s.runRaw(b, tree, op, name, "--output", "json")
	var rep rollout.Report
	require.NoError(b, json.Unmarshal(out, &rep), "rollout %s: %s", op, tail(string(out), 500))
	return rep, out
}

// runRaw runs the rollout binary and returns its stdout; it fails the benchmark on any exit
// but 0.
func (s rolloutSide) runRaw(b *testing.B, tree *testenv.ProcTree, op, name string, extra ...string) []byte {
	b.Helper()
	given := s.args
	if op == "status" || op == "handoff" || op == "destroy" {
		// They read the state, not the vendor's spec: no vendor or parameters.
		given = nil
		for i := 0; i < len(s.args); i++ {
			if s.args[i] == "--vendor" || s.args[i] == "--param" {
				i++
				continue
			}
			given = append(given, s.args[i])
		}
	}
	args := append(append(append([]string{op}, given...), "--run-dir", filepath.Join(s.runs, name)), extra...)
	if op == "destroy" {
		args = append(args, "--yes", "--remove-stacks")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env(tree)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(b, cmd.Run(), "rollout %s:\n%s\n%s", op, tail(stdout.String(), 2000), tail(stderr.String(), 3000))
	return stdout.Bytes()
}

func dirSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	require.NoError(b, err)
	return total
}

func kib(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
}

func printScaleBench(w io.Writer, n, parallel int, provider, backendKind, secrets, bundle string, seeded, warmed time.Duration, footprint string, res map[string]scaleResult) {
	if bundle == "" {
		bundle = "none (AWS_CA_BUNDLE unset)"
	} else {
		bundle = "AWS_CA_BUNDLE=" + bundle
	}
	fmt.Fprintf(w, "\n=== scale: the streamkap preset (with an external ID) granted to %d accounts, rollout at --parallel %d, %s backend in moto, secrets: %s; CA bundle: %s ===\n", n, parallel, backendKind, secrets, bundle)
	fmt.Fprintf(w, "AWS provider: %s\n", provider)
	fmt.Fprintf(w, "setup, not measured: moto organization of %d accounts seeded in %s; warm-up rollout of 1 account %s\n", n+1, secs(seeded), secs(warmed))
	fmt.Fprintf(w, "every account checked with the SDK after the first rollout, identical:\n  %s\n\n", strings.ReplaceAll(footprint, "\n", "\n  "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\twall\tCPU/acct\tmoto CPU/acct\tpeak, pages once\tpeak, RSS summed\trun dir\tstdout\tbackend after\t")
	for _, op := range scaleOps {
		r := res[op]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", op, secs(r.wall), secs(r.usage.CPU()/time.Duration(n)), secs(r.moto/time.Duration(n)),
			mib(r.usage.Peak.Private), mib(r.usage.PeakRSS), kib(r.written), kib(r.stdout), kib(r.backend))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nwhere the time goes, per account (CPU and process lifetime by executable, sampled every 100 ms):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tprocess\tprocs\tCPU/acct\twall/acct\tpeak RSS\t")
	for _, op := range scaleOps {
		for _, p := range res[op].usage.ByName {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t\n", op, p.Name, p.Processes, secs(p.CPU/time.Duration(n)), secs(p.Wall/time.Duration(n)), mib(p.PeakRSS))
		}
	}
	_ = tw.Flush()
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	peak := int64(0)
	for _, r := range res {
		peak = max(peak, r.usage.PeakRSS)
	}
	first, rerun := res["first"].wall, res["re-run"].wall
	fmt.Fprintf(w, "targets (stated for 1,000 accounts on 2 cores): first rollout %s (< 20 min: %s), unchanged re-run %s (< 5 s: %s), peak RSS summed over all operations %s (< 4 GiB: %s)\n",
		secs(first), met(first < 20*time.Minute), secs(rerun), met(rerun < 5*time.Second), mib(peak), met(peak < 4<<30))
}

// processCPU is a process's user and system CPU time so far.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	d, err := testenv.ProcessCPU(pid)
	require.NoError(b, err)
	return d
}
