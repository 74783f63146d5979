package rollout_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
)

// stallingOrg answers DescribeAccount only when the caller gives up, so an account's run
// spends its whole --timeout in the recheck, before touching its stack.
type stallingOrg struct{}

func (stallingOrg) DescribeAccount(ctx context.Context, _ *organizations.DescribeAccountInput, _ ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTimeoutLeavesAnotherRunsLock: two runs on one stack (two CI jobs overlapping). The
// first times out while the second's update holds the stack's lock. The first's cleanup must
// not take that lock away (`pulumi cancel` would delete every lock of the stack, and a third
// run could then update the stack alongside the second); the second's update completes.
func TestTimeoutLeavesAnotherRunsLock(t *testing.T) {
	cmd := pulumiCLI(t)
	dir := t.TempDir()
	backend := "file://" + dir
	acct := accountsN(1)

	second, err := rollout.New(slowDeployment(10*time.Second), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase))
	require.NoError(t, err)
	done := make(chan *rollout.Report, 1)
	go func() {
		rep, _ := second.Up(context.Background(), acct)
		done <- rep
	}()
	waitFor(t, "the second run's update to hold the lock", func() bool { return updateHoldsLock(t, dir, acct[0].ID) })
	held := fileLocks(t, dir)

	first, err := rollout.New(stubDeployment(""), rollout.PulumiCommand(cmd), rollout.Backend(backend), rollout.Passphrase(passphrase),
		rollout.Timeout(2*time.Second), rollout.RecheckAccounts(stallingOrg{}))
	require.NoError(t, err)
	rep, err := first.Up(context.Background(), acct)
	require.NoError(t, err)
	require.Equal(t, rollout.KindTimeout, rep.Results[0].Kind, "%+v", rep.Results[0])

	require.Equal(t, held, fileLocks(t, dir), "the second run's lock survives the first run's cleanup")
	require.True(t, updateHoldsLock(t, dir, acct[0].ID), "and the second run still holds it")
	rep = <-done
	require.Equal(t, 1, rep.Counts.Succeeded, "the second run's update completes: %+v", rep.Results)
	require.Empty(t, fileLocks(t, dir))
}
