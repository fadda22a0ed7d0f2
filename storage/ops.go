package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
)

// MaxPresignTTL is the longest validity S3 allows for a presigned URL.
const MaxPresignTTL = 7 * 24 * time.Hour

// Stat returns the object's size, ETag and recorded SHA-256.
func (c *Client) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, err
	}
	info, err := c.mc.StatObject(ctx, c.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, decode("storage: stat", key, err)
	}
	return objectFromInfo(info), nil
}

// PresignGet returns a URL that downloads the object without credentials
// until ttl has passed.
func (c *Client) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > MaxPresignTTL {
		return "", fmt.Errorf("storage: presign %q: ttl %s outside (0, %s]", key, ttl, MaxPresignTTL)
	}
	u, err := c.mc.PresignedGetObject(ctx, c.bucket, key, ttl, url.Values{})
	if err != nil {
		return "", decode("storage: presign", key, err)
	}
	return u.String(), nil
}

// Download writes the object to path (through a temporary file renamed into
// place) and checks it against the recorded SHA-256 when there is one.
func (c *Client) Download(ctx context.Context, key, path string) error {
	obj, err := c.Stat(ctx, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("storage: download %q: %w", key, err)
	}
	tmp := path + ".part"
	if err := c.mc.FGetObject(ctx, c.bucket, key, tmp, minio.GetObjectOptions{}); err != nil {
		_ = os.Remove(tmp)
		return decode("storage: download", key, err)
	}
	sum, n, err := HashFile(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: download %q: %w", key, err)
	}
	if n != obj.Size || (obj.SHA256 != "" && sum != obj.SHA256) {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: download %q: %w: got %d bytes sha256 %s, object has %d bytes sha256 %s",
			key, ErrMismatch, n, sum, obj.Size, obj.SHA256)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: download %q: %w", key, err)
	}
	return nil
}

// List returns the objects whose keys start with prefix, in key order.
func (c *Client) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	var out []Object
	for info := range c.mc.ListObjects(ctx, c.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, decode("storage: list", prefix, info.Err)
		}
		out = append(out, objectFromInfo(info))
	}
	return out, nil
}

// Delete removes the object; deleting a missing object is not an error.
func (c *Client) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	err := c.mc.RemoveObject(ctx, c.bucket, key, minio.RemoveObjectOptions{})
	if err != nil {
		err = decode("storage: delete", key, err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// DeletePrefix removes every object under prefix, which must be non-empty
// and end in "/" so that a typo cannot empty the bucket.
func (c *Client) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" || prefix[len(prefix)-1] != '/' {
		return fmt.Errorf("%w: delete prefix %q must be non-empty and end in /", ErrBadKey, prefix)
	}
	objs, err := c.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := c.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}
