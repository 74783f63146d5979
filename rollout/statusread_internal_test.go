package rollout

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/pulumicli"
	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestStatusFromBackendIsTheCLIs: status read straight from the backend (checkpoint and
// history) says what the CLI's `stack history` and `stack output` say, for a stack updated
// twice, with a secret output at the top and one nested, on each backend layout's reader.
func TestStatusFromBackendIsTheCLIs(t *testing.T) {
	cmd, err := pulumicli.Find()
	if err != nil {
		testenv.Missing(t, "the status test needs the real Pulumi CLI (run scripts/install-pulumi.sh): %v", err)
	}
	round := 0
	dep := Deployment{
		Program: func(ctx *pulumi.Context) error {
			id, _ := ctx.GetConfig("byoc-access:accountId")
			ctx.Export("roleArns", pulumi.StringMap{"VendorRole": pulumi.String("arn:aws:iam::" + id + ":role/VendorRole")})
			ctx.Export("externalId", pulumi.String("o-abcde"))
			ctx.Export("token", pulumi.ToSecret(pulumi.String("tok")))
			ctx.Export("nested", pulumi.Map{"plain": pulumi.String("p"), "hidden": pulumi.ToSecret(pulumi.String("h"))})
			ctx.Export("round", pulumi.Int(round))
			return nil
		},
		Version: "status-1",
		StackConfig: func(a targets.Account) (map[string]string, error) {
			return map[string]string{"byoc-access:accountId": a.ID}, nil
		},
	}
	r, err := New(dep, PulumiCommand(cmd), Backend("file://"+t.TempDir()), Passphrase("correct horse battery staple"), Parallel(2))
	require.NoError(t, err)
	ctx := context.Background()
	accounts := []targets.Account{{ID: "311111111111"}, {ID: "322222222222"}}
	for round = 1; round <= 2; round++ {
		rep, err := r.Up(ctx, accounts)
		require.NoError(t, err)
		require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)
	}

	env, release, err := r.env()
	require.NoError(t, err)
	defer release()
	p := &pass{Runner: r, op: OpStatus, env: env}
	for _, a := range accounts {
		ws, err := p.workspace(ctx, env)
		require.NoError(t, err)
		name := p.StackName(a.ID)
		var direct, viaCLI Result
		require.True(t, p.statusFromBackend(ctx, a, name, &direct), "the file backend is read directly")
		require.NoError(t, r.status(ctx, ws, name, &viaCLI))
		require.Equal(t, viaCLI, direct, "account %s", a.ID)
		require.Equal(t, "succeeded", direct.LastResult)
		require.EqualValues(t, 2, direct.Outputs["round"], "the newest update's outputs")
		require.Equal(t, "[secret]", direct.Outputs["token"])
		require.Equal(t, map[string]any{"plain": "p", "hidden": "[secret]"}, direct.Outputs["nested"])
		require.Equal(t, "o-abcde", direct.ExternalID)
	}
}
