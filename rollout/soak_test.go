package rollout_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout"
)

// TestSoak runs bounded up/destroy cycles over 10 accounts with faults injected (throttled and
// denied AssumeRole calls, program failures) and checks after every step that each account is
// either fully onboarded (a stack with outputs) or fully clean (no stack), that state agrees
// with the reports, and that no lock is left. The program here needs no cloud plugin, so state
// is checked against the reports; with the AWS plugin the same loop would check IAM too. BYOC_SOAK_CYCLES sets the cycles (default 1;
// 20 for a real soak).
func TestSoak(t *testing.T) {
	cycles := 1
	if v, err := strconv.Atoi(os.Getenv("BYOC_SOAK_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 10)
	var calls atomic.Int64
	var cycle atomic.Int64
	// pick says whether an account is hit by a fault of some kind this cycle: one account per
	// kind for certain (moto hands out random account IDs, so the hash alone may spare them
	// all), and about one in ten more.
	pick := func(kind, id string) bool {
		c := int(cycle.Load())
		if (kind == "deny" && id == accounts[c%len(accounts)].ID) || (kind == "program" && id == accounts[(c+1)%len(accounts)].ID) {
			return true
		}
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%s/%d", kind, id, cycle.Load())
		return h.Sum32()%10 == 0
	}
	proxy := testenv.StartFaultProxy(t, m.Endpoint, func(c testenv.Call) *testenv.Fault {
		if c.Action != "AssumeRole" {
			return nil
		}
		if calls.Add(1)%5 == 0 {
			return testenv.Throttled
		}
		for _, a := range accounts {
			if strings.Contains(c.Params.Get("RoleArn"), a.ID) && pick("deny", a.ID) {
				return testenv.AccessDenied
			}
		}
		return nil
	})
	dir := t.TempDir()
	dep := stubDeployment("")
	inner := dep.Program
	dep.Program = func(ctx *pulumi.Context) error {
		if pick("program", pconfig.New(ctx, "byoc-access").Require("accountId")) {
			return fmt.Errorf("injected program failure")
		}
		return inner(ctx)
	}
	r, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir), rollout.Passphrase(passphrase),
		rollout.Parallel(5), rollout.Preflight(sdkConfig(t, proxy.URL)))
	require.NoError(t, err)
	d, err := rollout.New(dep, rollout.PulumiCommand(cmd), rollout.Backend("file://"+dir), rollout.Passphrase(passphrase),
		rollout.Parallel(5), rollout.RemoveStacks(true))
	require.NoError(t, err)

	onboarded := map[string]bool{}
	// check: an account is onboarded exactly when its stack holds the component (more than the
	// stack's own root resource), and no lock is left behind.
	check := func(step string) {
		t.Helper()
		resources := stackResources(t, cmd, "file://"+dir)
		for _, a := range accounts {
			require.Equal(t, onboarded[a.ID], resources[a.ID] > 1, "%s: account %s onboarded=%v but has %d resources", step, a.ID, onboarded[a.ID], resources[a.ID])
		}
		require.Empty(t, fileLocks(t, dir), "%s: no lock is left", step)
	}
	failures := 0
	for c := 0; c < cycles; c++ {
		cycle.Store(int64(c))
		rep, err := r.Up(context.Background(), accounts)
		require.NoError(t, err)
		for _, res := range rep.Results {
			switch res.Status {
			case rollout.StatusSucceeded:
				onboarded[res.Account.ID] = true
				require.NotEmpty(t, res.RoleArns, "an onboarded account has its outputs")
			case rollout.StatusFailed:
				failures++
				require.Contains(t, []rollout.Kind{rollout.KindAssumeRole, rollout.KindProgram}, res.Kind, "%+v", res)
			default:
				t.Fatalf("cycle %d: account %s ended %s", c, res.Account.ID, res.Status)
			}
		}
		check(fmt.Sprintf("cycle %d up", c))

		rep, err = d.Destroy(context.Background(), accounts)
		require.NoError(t, err)
		for _, res := range rep.Results {
			require.Contains(t, []rollout.Status{rollout.StatusSucceeded, rollout.StatusSkipped}, res.Status, "%+v", res)
			onboarded[res.Account.ID] = false
		}
		check(fmt.Sprintf("cycle %d destroy", c))
	}
	require.Positive(t, failures, "faults were injected into the accounts")
	t.Logf("%d cycles, %d AssumeRole calls, %d faults injected, %d account failures", cycles, calls.Load(), proxy.Injected(), failures)
}

// stackResources maps account IDs to their stack's resource count.
func stackResources(t *testing.T, cmd auto.PulumiCommand, backend string) map[string]int {
	t.Helper()
	ws, err := auto.NewLocalWorkspace(context.Background(), auto.Pulumi(cmd), auto.Project(projectFor()),
		auto.EnvVars(map[string]string{"PULUMI_BACKEND_URL": backend, "PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_SKIP_UPDATE_CHECK": "true"}))
	require.NoError(t, err)
	defer os.RemoveAll(ws.WorkDir())
	stacks, err := ws.ListStacks(context.Background())
	require.NoError(t, err)
	out := map[string]int{}
	for _, s := range stacks {
		n := 0
		if s.ResourceCount != nil {
			n = *s.ResourceCount
		}
		out[s.Name[strings.LastIndex(s.Name, "/")+1:]] = n
	}
	return out
}
