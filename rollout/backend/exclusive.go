package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrExists means CreateExclusive found the key already there.
var ErrExists = errors.New("the object already exists")

// CreateExclusive writes key only if it does not exist yet, atomically, so that of several
// processes (on several machines) creating the same key exactly one succeeds and the others
// get ErrExists, and no reader ever sees the key without its whole content: a hard link of a
// complete temporary file on a file backend, a conditional write (If-None-Match: *) on S3.
// It is how a lock that is not a Pulumi stack lock is taken in the backend.
func CreateExclusive(ctx context.Context, st Store, key string, data []byte) error {
	switch s := st.(type) {
	case fileStore:
		return createFileExclusive(filepath.Join(string(s), filepath.FromSlash(key)), data)
	case *s3Store:
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String(s.key(key)), Body: bytes.NewReader(data), IfNoneMatch: aws.String("*"),
		})
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
			return ErrExists
		}
		return err
	}
	return fmt.Errorf("create %s: %w", key, ErrUnsupported)
}

// createFileExclusive writes the whole file under a temporary name and links it to p: link(2)
// fails if p exists, and p never exists half-written. Created with O_EXCL and then written,
// p was empty for a moment, and a worker reading it then took it for a crashed holder's
// half-written lock and took the lock over: two workers held it at once.
func createFileExclusive(p string, data []byte) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	err = os.Link(tmp.Name(), p)
	if errors.Is(err, os.ErrExist) {
		return ErrExists
	}
	return err
}
