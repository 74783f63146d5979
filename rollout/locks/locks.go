// Package locks finds the stack locks a DIY state backend (file:// or s3://) holds, and
// removes stale ones on request. The Pulumi CLI releases its lock when an update ends or is
// interrupted; only a process killed outright (SIGKILL, a lost CI runner) leaves one behind,
// and then every later update of that stack fails until it is cleared.
package locks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Lock is one stack lock.
type Lock struct {
	// Stack is the lock's stack, "organization/project/stack".
	Stack string `json:"stack"`
	// Key is the lock's path inside the backend.
	Key       string    `json:"key"`
	Pid       int       `json:"pid"`
	Username  string    `json:"username"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
}

// Holder names who holds the lock, for messages.
func (l Lock) Holder() string {
	return fmt.Sprintf("%s@%s (pid %d) since %s", l.Username, l.Hostname, l.Pid, l.Timestamp.UTC().Format(time.RFC3339))
}

// Stale says whether the lock's process is certainly gone: it ran on this host and no such
// process exists. A lock from another host is never called stale, since its process cannot be
// checked from here; minAge lets the caller accept old ones explicitly.
func (l Lock) Stale(minAge time.Duration) (bool, string) {
	host, _ := os.Hostname()
	if l.Hostname == host {
		if err := syscall.Kill(l.Pid, 0); errors.Is(err, syscall.ESRCH) {
			return true, "its process is gone from this host"
		}
		return false, "its process is still running on this host"
	}
	if minAge > 0 && time.Since(l.Timestamp) > minAge {
		return true, fmt.Sprintf("it is older than %s (held from another host)", minAge)
	}
	return false, "it is held from another host; pass --older-than to clear old locks from other hosts"
}

// Store reads and deletes objects of a backend.
type Store interface {
	List(ctx context.Context, prefix string) ([]string, error)
	Read(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

const lockPrefix = ".pulumi/locks/"

// List returns every lock in the backend, oldest first.
func List(ctx context.Context, st Store) ([]Lock, error) {
	keys, err := st.List(ctx, lockPrefix)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	var out []Lock
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		b, err := st.Read(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", k, err)
		}
		var l Lock
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("lock %s is not a Pulumi lock: %w", k, err)
		}
		l.Key = k
		l.Stack = path.Dir(strings.TrimPrefix(k, lockPrefix))
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out, nil
}

// Remove deletes one lock.
func Remove(ctx context.Context, st Store, l Lock) error {
	if !strings.HasPrefix(l.Key, lockPrefix) {
		return fmt.Errorf("refusing to delete %s: not a lock", l.Key)
	}
	return st.Delete(ctx, l.Key)
}

// Open returns the store of a backend URL: file://DIR or s3://BUCKET?region=&endpoint=.
func Open(ctx context.Context, backend string, cfg aws.Config) (Store, error) {
	switch {
	case strings.HasPrefix(backend, "file://"):
		dir := strings.TrimPrefix(backend, "file://")
		if i := strings.Index(dir, "?"); i >= 0 {
			dir = dir[:i]
		}
		if strings.HasPrefix(dir, "~") {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, strings.TrimPrefix(dir, "~"))
		}
		return fileStore(dir), nil
	case strings.HasPrefix(backend, "s3://"):
		u, err := url.Parse(backend)
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", backend, err)
		}
		q := u.Query()
		client := s3.NewFromConfig(cfg, func(o *s3.Options) {
			if r := q.Get("region"); r != "" {
				o.Region = r
			}
			if e := q.Get("endpoint"); e != "" {
				o.BaseEndpoint = aws.String(e)
			}
			o.UsePathStyle = q.Get("s3ForcePathStyle") == "true"
		})
		return &s3Store{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}, nil
	}
	return nil, fmt.Errorf("backend %s: locks are managed by the backend itself (Pulumi Cloud: `pulumi cancel`); only file:// and s3:// backends are handled here", backend)
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

func (s *s3Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(key))})
	return err
}
