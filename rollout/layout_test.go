package rollout_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/access"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// TestLegacyBackendLayout: a backend the CLI made in its legacy (pre-project) layout, as
// backends from before Pulumi 3.61 are, on file:// and on s3://. The rollout finds the stacks
// there: unchanged accounts are skipped by fingerprint, existing stacks are not mistaken for
// new ones (which, with the role already in the account, fails as a conflict), and destroy
// destroys them instead of reporting "nothing to destroy".
func TestLegacyBackendLayout(t *testing.T) {
	cmd := pulumiCLI(t)
	m, accounts := fleet(t, 2)
	base := sdkConfig(t, m.Endpoint)
	s3c := s3.NewFromConfig(m.AWSConfig(t), func(o *s3.Options) { o.UsePathStyle = true })
	_, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("legacy-state")})
	require.NoError(t, err)
	awsEnv := map[string]string{}
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		awsEnv[k] = v
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		backend string
		env     map[string]string
		keys    func() []string
	}{
		{"file", "file://" + dir, map[string]string{}, func() []string {
			var out []string
			require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					out = append(out, filepath.ToSlash(rel))
				}
				return err
			}))
			return out
		}},
		{"s3", fmt.Sprintf("s3://legacy-state?endpoint=%s&s3ForcePathStyle=true&region=us-east-1", m.Endpoint), awsEnv, func() []string {
			objs, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("legacy-state")})
			require.NoError(t, err)
			var out []string
			for _, o := range objs.Contents {
				out = append(out, aws.ToString(o.Key))
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The vendor's role exists in an account once its stack deployed it.
			var deployed atomic.Bool
			dep := stubDeployment("")
			dep.AdoptKey = "byoc-access:adopt"
			dep.Existing = func(context.Context, targets.Account, aws.Config) ([]string, error) {
				if deployed.Load() {
					return []string{"role/StubRole"}, nil
				}
				return nil, nil
			}
			newRunner := func(env map[string]string, opts ...rollout.Option) *rollout.Runner {
				r, err := rollout.New(dep, append([]rollout.Option{rollout.PulumiCommand(cmd), rollout.Backend(tt.backend),
					rollout.Passphrase(passphrase), rollout.Env(env), rollout.Parallel(2), rollout.Preflight(base),
					rollout.ExecutionRole(access.ExecutionRole{})}, opts...)...)
				require.NoError(t, err)
				return r
			}

			// The CLI makes the new backend in the legacy layout.
			legacy := map[string]string{"PULUMI_DIY_BACKEND_LEGACY_LAYOUT": "true"}
			for k, v := range tt.env {
				legacy[k] = v
			}
			rep, err := newRunner(legacy).Up(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)
			deployed.Store(true)
			keys := tt.keys()
			for _, a := range accounts {
				require.Contains(t, keys, ".pulumi/stacks/"+a.ID+".json", "the stacks are in the legacy layout")
			}
			require.NotContains(t, keys, ".pulumi/meta.yaml")
			require.NotContains(t, strings.Join(keys, "\n"), ".pulumi/stacks/byoc-access/")

			// Later runs are not told the layout: they read it from the backend.
			rep, err = newRunner(tt.env).Up(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.UpToDate, "unchanged accounts are skipped: %+v", rep.Results)

			rep, err = newRunner(tt.env, rollout.Force(true)).Up(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.Succeeded, "an existing stack is updated, not taken for a new one in conflict with its own role: %+v", rep.Results)
			require.Equal(t, 2, rep.Counts.Unchanged)

			rep, err = newRunner(tt.env).Status(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.Succeeded, "%+v", rep.Results)

			rep, err = newRunner(tt.env, rollout.RemoveStacks(true)).Destroy(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.Succeeded, "the stacks are destroyed, not skipped: %+v", rep.Results)
			for _, res := range rep.Results {
				require.Equal(t, map[string]int{"delete": 2}, res.Changes, res.Account.ID)
			}
			keys = tt.keys()
			for _, a := range accounts {
				require.NotContains(t, keys, ".pulumi/stacks/"+a.ID+".json")
			}

			rep, err = newRunner(tt.env).Destroy(context.Background(), accounts)
			require.NoError(t, err)
			require.Equal(t, 2, rep.Counts.Skipped, "now there is nothing to destroy: %+v", rep.Results)
		})
	}
}
