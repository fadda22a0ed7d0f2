package storage

import (
	"context"
	"fmt"
	"strings"
)

// Verify confirms that the object under key exists with the given size and
// hex SHA-256 (as recorded at upload). It returns ErrNotFound or ErrMismatch.
func (c *Client) Verify(ctx context.Context, key string, size int64, sha256 string) error {
	obj, err := c.Stat(ctx, key)
	if err != nil {
		return err
	}
	if obj.Size != size {
		return fmt.Errorf("storage: verify %q: %w: size %d, expected %d", key, ErrMismatch, obj.Size, size)
	}
	if obj.SHA256 == "" || obj.SHA256 != strings.ToLower(sha256) {
		return fmt.Errorf("storage: verify %q: %w: sha256 %q, expected %q", key, ErrMismatch, obj.SHA256, sha256)
	}
	return nil
}
