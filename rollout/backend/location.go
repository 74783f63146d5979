package backend

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Kind is the sort of state backend a URL names.
type Kind string

// Backend kinds, by URL scheme.
const (
	// KindFile is a directory on this machine: file://DIR.
	KindFile Kind = "file"
	// KindS3 is an S3 bucket (or an S3-compatible store): s3://BUCKET/PREFIX?region=&endpoint=.
	KindS3 Kind = "s3"
	// KindGCS is a Google Cloud Storage bucket: gs://BUCKET.
	KindGCS Kind = "gs"
	// KindAzure is an Azure Blob Storage container: azblob://CONTAINER.
	KindAzure Kind = "azblob"
	// KindCloud is Pulumi Cloud or a self-hosted Pulumi service: https://api.pulumi.com.
	KindCloud Kind = "cloud"
)

// Location is a backend URL taken apart, so that every reader of --backend agrees on what it
// names: the rollout creates a file backend's directory, Open reads file:// and s3:// stores,
// and crash recovery repairs files in a file backend's directory.
type Location struct {
	// URL is the backend URL as given.
	URL string
	// Kind says which backend the URL names.
	Kind Kind
	// Dir is a file backend's directory, with a leading ~ expanded to the home directory as
	// the CLI does; relative paths stay relative (to the working directory). It is "" for a
	// bare file:// and for other kinds.
	Dir string
	// Bucket is an s3:// backend's bucket, Prefix the key prefix under it ("" for the
	// bucket's top level).
	Bucket, Prefix string
	// Region and Endpoint are an s3:// backend's region= and endpoint= (an S3-compatible
	// store such as MinIO or moto); "" leaves them to the AWS configuration.
	Region, Endpoint string
	// PathStyle is s3ForcePathStyle=true: the bucket goes in the path, not the host name.
	PathStyle bool
}

// ErrUnknownScheme means a backend URL names no Pulumi backend.
var ErrUnknownScheme = errors.New("unknown backend")

// ErrNoBucket means an s3:// backend URL names no bucket, which would fail every account.
var ErrNoBucket = errors.New("no bucket: want s3://BUCKET")

// URLError is a backend URL that cannot be used: its scheme names no backend
// (ErrUnknownScheme) or it does not parse (the *url.Error). Both reach errors.Is and
// errors.As through Unwrap.
type URLError struct {
	// URL is the backend URL as given.
	URL string
	// Err is what is wrong.
	Err error
}

func (e *URLError) Error() string {
	return fmt.Sprintf("backend %q: %v: use file://DIR, s3://BUCKET?region=..., or https://api.pulumi.com", e.URL, e.Err)
}

// Unwrap returns what is wrong.
func (e *URLError) Unwrap() error { return e.Err }

// Parse takes a backend URL apart. It only reads the URL: nothing is created or contacted.
// A file:// URL is read as the CLI reads it, as a path after the scheme (file://~/state,
// file://relative/dir, file:///abs/dir), up to a query string.
func Parse(backend string) (Location, error) {
	loc := Location{URL: backend}
	scheme, rest, _ := strings.Cut(backend, "://")
	switch scheme {
	case "file":
		loc.Kind = KindFile
		dir, _, _ := strings.Cut(rest, "?")
		if strings.HasPrefix(dir, "~") {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, strings.TrimPrefix(dir, "~"))
		}
		loc.Dir = dir
		return loc, nil
	case "s3":
		u, err := url.Parse(backend)
		if err != nil {
			return Location{}, &URLError{URL: backend, Err: err}
		}
		q := u.Query()
		if u.Host == "" {
			return Location{}, &URLError{URL: backend, Err: ErrNoBucket}
		}
		loc.Kind = KindS3
		loc.Bucket = u.Host
		loc.Prefix = strings.Trim(u.Path, "/")
		loc.Region = q.Get("region")
		loc.Endpoint = q.Get("endpoint")
		loc.PathStyle = q.Get("s3ForcePathStyle") == "true"
		return loc, nil
	case "gs":
		loc.Kind = KindGCS
		return loc, nil
	case "azblob":
		loc.Kind = KindAzure
		return loc, nil
	case "https", "http":
		loc.Kind = KindCloud
		return loc, nil
	}
	return Location{}, &URLError{URL: backend, Err: ErrUnknownScheme}
}
