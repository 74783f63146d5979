package backend_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

func TestParse(t *testing.T) {
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	tests := []struct {
		name    string
		url     string
		want    backend.Location
		wantErr error // errors.Is target; the error is then a *backend.URLError
	}{
		{name: "absolute directory", url: "file:///var/lib/state",
			want: backend.Location{Kind: backend.KindFile, Dir: "/var/lib/state"}},
		{name: "home directory", url: "file://~",
			want: backend.Location{Kind: backend.KindFile, Dir: home}},
		{name: "under the home directory", url: "file://~/.byoc-access/state",
			want: backend.Location{Kind: backend.KindFile, Dir: filepath.Join(home, ".byoc-access/state")}},
		{name: "relative directory", url: "file://.byoc-access/demo/state",
			want: backend.Location{Kind: backend.KindFile, Dir: ".byoc-access/demo/state"}},
		{name: "query string is not the directory", url: "file:///tmp/state?no_legacy_layout=true",
			want: backend.Location{Kind: backend.KindFile, Dir: "/tmp/state"}},
		{name: "bare file://", url: "file://",
			want: backend.Location{Kind: backend.KindFile}},
		{name: "s3 bucket", url: "s3://state-bucket",
			want: backend.Location{Kind: backend.KindS3, Bucket: "state-bucket"}},
		{name: "s3 with prefix, region and endpoint", url: "s3://state-bucket/fleet/prod/?region=eu-west-1&endpoint=http://127.0.0.1:5000&s3ForcePathStyle=true",
			want: backend.Location{Kind: backend.KindS3, Bucket: "state-bucket", Prefix: "fleet/prod",
				Region: "eu-west-1", Endpoint: "http://127.0.0.1:5000", PathStyle: true}},
		{name: "Pulumi Cloud", url: "https://api.pulumi.com",
			want: backend.Location{Kind: backend.KindCloud}},
		{name: "self-hosted Pulumi service", url: "http://pulumi.internal:8080",
			want: backend.Location{Kind: backend.KindCloud}},
		{name: "Google Cloud Storage", url: "gs://state-bucket",
			want: backend.Location{Kind: backend.KindGCS}},
		{name: "Azure Blob Storage", url: "azblob://state",
			want: backend.Location{Kind: backend.KindAzure}},
		{name: "unknown scheme", url: "ftp://state", wantErr: backend.ErrUnknownScheme},
		{name: "a path without a scheme", url: "/var/lib/state", wantErr: backend.ErrUnknownScheme},
		{name: "empty", url: "", wantErr: backend.ErrUnknownScheme},
		{name: "s3 URL that does not parse", url: "s3://state-bucket/%zz", wantErr: &url.Error{}},
		{name: "s3 without a bucket", url: "s3://", wantErr: backend.ErrNoBucket},
		{name: "s3 with a prefix but no bucket", url: "s3:///state?region=us-east-1", wantErr: backend.ErrNoBucket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := backend.Parse(tt.url)
			if tt.wantErr != nil {
				var ue *backend.URLError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, tt.url, ue.URL)
				if ue2, ok := tt.wantErr.(*url.Error); ok {
					require.ErrorAs(t, err, &ue2)
				} else {
					require.ErrorIs(t, err, tt.wantErr)
				}
				require.Contains(t, err.Error(), "use file://DIR, s3://BUCKET?region=..., or https://api.pulumi.com", "the message says the fix")
				return
			}
			require.NoError(t, err)
			tt.want.URL = tt.url
			require.Equal(t, tt.want, got)
		})
	}
}

// TestOpenAndFileDirFollowParse: Open and FileDir read the URL through Parse, and keep
// ErrUnsupported for every backend that keeps its storage to itself.
func TestOpenAndFileDirFollowParse(t *testing.T) {
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	dir, ok := backend.FileDir("file://~/state?x=1")
	require.True(t, ok)
	require.Equal(t, filepath.Join(home, "state"), dir)
	for _, u := range []string{"s3://b", "https://api.pulumi.com", "ftp://x"} {
		_, ok := backend.FileDir(u)
		require.False(t, ok, u)
	}

	for _, u := range []string{"https://api.pulumi.com", "gs://b", "azblob://c", "ftp://x", ""} {
		_, err := backend.Open(context.Background(), u, aws.Config{})
		require.ErrorIs(t, err, backend.ErrUnsupported, u)
	}
	_, err = backend.Open(context.Background(), "s3://b/%zz", aws.Config{})
	var ue *backend.URLError
	require.ErrorAs(t, err, &ue, "a malformed s3 URL is named, not called unsupported")

	local := t.TempDir()
	st, err := backend.Open(context.Background(), "file://"+local+"?x=1", aws.Config{})
	require.NoError(t, err)
	require.NoError(t, st.Write(context.Background(), "a/b", []byte("x")))
	_, err = os.Stat(filepath.Join(local, "a", "b"))
	require.NoError(t, err, "the store writes in the URL's directory")
}
