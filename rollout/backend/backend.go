package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ErrUnsupported means the backend manages its own storage (Pulumi Cloud).
var ErrUnsupported = errors.New("only file:// and s3:// backends can be read directly")

// Store reads and writes objects of a backend, by key ("dir/name", slash-separated).
type Store interface {
	List(ctx context.Context, prefix string) ([]string, error)
	Read(ctx context.Context, key string) ([]byte, error)
	Write(ctx context.Context, key string, data []byte) error
	Delete(ctx context.Context, key string) error
}

// Open returns the store of a backend URL: file://DIR or s3://BUCKET?region=&endpoint=. Any
// other backend, Pulumi Cloud included, keeps its storage to itself: ErrUnsupported.
func Open(ctx context.Context, backend string, cfg aws.Config) (Store, error) {
	loc, err := Parse(backend)
	if err != nil && !errors.Is(err, ErrUnknownScheme) {
		return nil, err
	}
	switch loc.Kind {
	case KindFile:
		return fileStore(loc.Dir), nil
	case KindS3:
		client := s3.NewFromConfig(cfg, func(o *s3.Options) {
			if loc.Region != "" {
				o.Region = loc.Region
			}
			if loc.Endpoint != "" {
				o.BaseEndpoint = aws.String(loc.Endpoint)
			}
			o.UsePathStyle = loc.PathStyle
		})
		return &s3Store{client: client, bucket: loc.Bucket, prefix: loc.Prefix}, nil
	}
	return nil, fmt.Errorf("backend %s: %w", backend, ErrUnsupported)
}

// FileDir is the directory of a file:// backend URL, with a leading ~ expanded as the CLI
// does (Parse's Dir); false for any other backend.
func FileDir(backend string) (string, bool) {
	loc, err := Parse(backend)
	if err != nil || loc.Kind != KindFile {
		return "", false
	}
	return loc.Dir, true
}

type fileStore string

func (f fileStore) List(_ context.Context, prefix string) ([]string, error) {
	var out []string
	root := filepath.Join(string(f), filepath.FromSlash(prefix))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(string(f), p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

func (f fileStore) Read(_ context.Context, key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(f), filepath.FromSlash(key)))
}

func (f fileStore) Write(_ context.Context, key string, data []byte) error {
	p := filepath.Join(string(f), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	// Write then rename, so a reader never sees half a record.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (f fileStore) Delete(_ context.Context, key string) error {
	return os.Remove(filepath.Join(string(f), filepath.FromSlash(key)))
}

type s3Store struct {
	client *s3.Client
	bucket string
	prefix string
}

func (s *s3Store) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.key(prefix))})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *s3Store) Read(ctx context.Context, key string) ([]byte, error) {
	o, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(key))})
	if err != nil {
		return nil, err
	}
	defer o.Body.Close()
	return io.ReadAll(o.Body)
}

func (s *s3Store) Write(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(key)), Body: bytes.NewReader(data)})
	return err
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(key))})
	return err
}
