package rollout_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// naiveMode is what the naive loop does in each account.
type naiveMode int

const (
	naiveUp      naiveMode = iota // auto.Stack.Up
	naivePreview                  // auto.Stack.Preview
	naiveDrift                    // auto.Stack.Preview with a refresh first, as drift detection
)

// naive is the loop Pulumi's Automation API examples show: for each account, one
// UpsertStackInlineSource, one SetConfig per key, one Up (or Preview), in sequence. env is
// added to the CLI's environment.
func naive(ctx context.Context, b *testing.B, cmd auto.PulumiCommand, backend string, dep rollout.Deployment,
	accounts []targets.Account, mode naiveMode, env map[string]string) {
	vars := map[string]string{"PULUMI_BACKEND_URL": backend, "PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_SKIP_UPDATE_CHECK": "true"}
	for k, v := range env {
		vars[k] = v
	}
	project := dep.Project
	if project == "" {
		project = "byoc-access"
	}
	for _, a := range accounts {
		s, err := auto.UpsertStackInlineSource(ctx, "naive-"+a.ID, project, dep.Program,
			auto.Pulumi(cmd), auto.SecretsProvider("passphrase"), auto.EnvVars(vars))
		require.NoError(b, err)
		cfg, err := dep.StackConfig(a)
		require.NoError(b, err)
		cfg["aws:region"] = "us-east-1"
		for k, v := range cfg {
			require.NoError(b, s.SetConfig(ctx, k, auto.ConfigValue{Value: v}))
		}
		require.NoError(b, s.SetConfigWithOptions(ctx, "aws:assumeRole.roleArn",
			auto.ConfigValue{Value: "arn:aws:iam::" + a.ID + ":role/OrganizationAccountAccessRole"}, &auto.ConfigOptions{Path: true}))
		switch mode {
		case naivePreview:
			_, err = s.Preview(ctx, optpreview.SuppressProgress())
		case naiveDrift:
			_, err = s.Preview(ctx, optpreview.SuppressProgress(), optpreview.Refresh())
		default:
			_, err = s.Up(ctx, optup.SuppressProgress())
		}
		require.NoError(b, err, "naive loop, account %s", a.ID)
		os.RemoveAll(s.Workspace().WorkDir())
	}
}

func benchSizes() []int {
	sizes := []int{10, 50}
	if env := os.Getenv("BYOC_BENCH_SIZES"); env != "" {
		sizes = nil
		for _, s := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// BenchmarkFleetComponentOnly measures first rollout, unchanged re-run and plan over N
// accounts, for the rollout and for the naive loop, with a component-only program (no cloud
// plugin, no AWS): the cost of the engine and of the CLI processes alone. BenchmarkFleet
// measures the real program. BYOC_BENCH_SIZES picks N (default 10,50).
func BenchmarkFleetComponentOnly(b *testing.B) {
	cmd, err := pulumiCLIForBench()
	if err != nil {
		b.Skip(err)
	}
	parallel := 8
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			ctx := context.Background()
			accounts := make([]targets.Account, n)
			for i := range accounts {
				accounts[i] = targets.Account{ID: fmt.Sprintf("%012d", 200000000000+i)}
			}
			for i := 0; i < b.N; i++ {
				backend := "file://" + b.TempDir()
				r, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend),
					rollout.Passphrase(passphrase), rollout.Parallel(parallel))
				require.NoError(b, err)
				timed := func(f func()) float64 {
					start := time.Now()
					f()
					return time.Since(start).Seconds()
				}
				oursFirst := timed(func() {
					rep, err := r.Up(ctx, accounts)
					require.NoError(b, err)
					require.Equal(b, n, rep.Counts.Succeeded)
				})
				oursRerun := timed(func() {
					rep, err := r.Up(ctx, accounts)
					require.NoError(b, err)
					require.Equal(b, n, rep.Counts.UpToDate)
				})
				oursPlan := timed(func() {
					rep, err := r.Preview(ctx, accounts)
					require.NoError(b, err)
					require.Equal(b, n, rep.Counts.Succeeded)
				})
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				dep := stubDeployment("")
				naiveFirst := timed(func() { naive(ctx, b, cmd, backend, dep, accounts, naiveUp, nil) })
				naiveRerun := timed(func() { naive(ctx, b, cmd, backend, dep, accounts, naiveUp, nil) })
				naivePlan := timed(func() { naive(ctx, b, cmd, backend, dep, accounts, naivePreview, nil) })

				b.ReportMetric(float64(n)/oursFirst, "first-acct/s")
				b.ReportMetric(float64(n)/oursRerun, "rerun-acct/s")
				b.ReportMetric(float64(n)/oursPlan, "plan-acct/s")
				b.ReportMetric(naiveFirst/oursFirst, "first-speedup")
				b.ReportMetric(naiveRerun/oursRerun, "rerun-speedup")
				b.ReportMetric(naivePlan/oursPlan, "plan-speedup")
				b.ReportMetric(maxRSSMB(), "peak-rss-MB")
				b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
				fmt.Printf("accounts=%d parallel=%d: first %.1fs vs naive %.1fs (%.1fx); re-run %.3fs vs %.1fs (%.0fx); plan %.1fs vs %.1fs (%.1fx); peak RSS %.0f MB\n",
					n, parallel, oursFirst, naiveFirst, naiveFirst/oursFirst, oursRerun, naiveRerun, naiveRerun/oursRerun,
					oursPlan, naivePlan, naivePlan/oursPlan, maxRSSMB())
			}
		})
	}
}

func pulumiCLIForBench() (auto.PulumiCommand, error) {
	cmd, err := pulumicli.Find()
	if err != nil {
		return nil, fmt.Errorf("the benchmark needs the real Pulumi CLI: %w", err)
	}
	return cmd, nil
}
