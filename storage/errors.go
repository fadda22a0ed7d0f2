package storage

import (
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

var (
	// ErrNotFound is returned when an object (or the bucket) does not exist.
	ErrNotFound = errors.New("storage: object not found")
	// ErrMismatch is returned when an object's size or checksum differs from
	// what the caller expected.
	ErrMismatch = errors.New("storage: object does not match")
	// ErrBadKey is returned for object keys that could escape their prefix or
	// carry control characters.
	ErrBadKey = errors.New("storage: invalid object key")
	// ErrConfig is returned by New for an unusable configuration.
	ErrConfig = errors.New("storage: invalid configuration")
)

// decode maps S3 error responses onto the package's sentinels, keeping the
// original error in the chain.
func decode(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return fmt.Errorf("%s %q: %w: %w", op, key, ErrNotFound, err)
		}
		if resp.StatusCode == 404 {
			return fmt.Errorf("%s %q: %w: %w", op, key, ErrNotFound, err)
		}
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}

func asResp(err error, resp *minio.ErrorResponse) bool { return errors.As(err, resp) }
