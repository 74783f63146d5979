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
// get ErrExists: O_EXCL on a file backend, a conditional write (If-None-Match: *) on S3.
// It is how a lock that is not a Pulumi stack lock is taken in the backend.
func CreateExclusive(ctx context.Context, st Store, key string, data []byte) error {
	switch s := st.(type) {
	case fileStore:
		p := filepath.Join(string(s), filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(p)
			return err
		}
		return f.Close()
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
