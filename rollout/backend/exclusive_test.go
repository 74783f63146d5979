package backend_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/backend"
)

// Of many processes creating one key at once, exactly one wins, on both kinds of backend.
func TestCreateExclusive(t *testing.T) {
	m := testenv.StartMoto(t, testenv.WithoutManagedPolicies())
	cfg := m.AWSConfig(t)
	_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lock-state")})
	require.NoError(t, err)
	tests := []struct{ name, url string }{
		{"file", "file://" + t.TempDir()},
		{"s3", fmt.Sprintf("s3://lock-state/fleet?endpoint=%s&s3ForcePathStyle=true&region=us-east-1", m.Endpoint)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := backend.Open(ctx, tc.url, cfg)
			require.NoError(t, err)
			var mu sync.Mutex
			won, lost := 0, 0
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					err := backend.CreateExclusive(ctx, st, ".byoc-access/locks/x.json", []byte(fmt.Sprint(i)))
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					} else {
						require.ErrorIs(t, err, backend.ErrExists)
						lost++
					}
				})
			}
			wg.Wait()
			require.Equal(t, 1, won)
			require.Equal(t, 7, lost)
			require.NoError(t, st.Delete(ctx, ".byoc-access/locks/x.json"))
			require.NoError(t, backend.CreateExclusive(ctx, st, ".byoc-access/locks/x.json", []byte("again")), "a deleted key can be created again")
		})
	}
}

// TestCreateExclusiveIsNeverSeenHalfWritten: whoever loses the race to create a key and reads
// it at once reads the winner's whole content. Created empty and written after, the file was
// read empty now and then, and the watch workers' lock took that for a crashed holder's.
func TestCreateExclusiveIsNeverSeenHalfWritten(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 4096)
	for i := range 300 {
		st, err := backend.Open(ctx, "file://"+t.TempDir(), aws.Config{})
		require.NoError(t, err)
		key := fmt.Sprintf("locks/%d.json", i)
		var wg sync.WaitGroup
		won := atomic.Int32{}
		for range 4 {
			wg.Go(func() {
				err := backend.CreateExclusive(ctx, st, key, data)
				if err == nil {
					won.Add(1)
					return
				}
				require.ErrorIs(t, err, backend.ErrExists)
				got, err := st.Read(ctx, key)
				require.NoError(t, err)
				require.Len(t, got, len(data), "a key another process created is read whole")
			})
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load(), "exactly one creator wins")
	}
}
