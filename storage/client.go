// Package storage stores recording objects in any S3-compatible service:
// multipart uploads with end-to-end SHA-256 verification, presigned playback
// URLs, listing and deletion.
package storage

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config describes how to reach the object store.
type Config struct {
	// Endpoint is "host:port" or an http(s) URL; a URL's scheme decides Secure.
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	Secure    bool
	// PathStyle forces path-style requests (needed by most self-hosted stores).
	PathStyle bool
	// MaxRetries bounds the client's own retries of one request (default 3);
	// callers such as job queues retry at a higher level.
	MaxRetries int
	// PartSize is the multipart part size in bytes (default 16 MiB).
	PartSize uint64
	// Threads is how many parts of one multipart upload are sent at once
	// (default 4; each holds a part-sized buffer). The file is still read,
	// and hashed, in order.
	Threads int
}

const (
	defaultPartSize   = 16 << 20
	defaultThreads    = 4
	defaultMaxRetries = 3
	// metaSHA256 is the user-metadata key under which PutFile records the
	// object's SHA-256 (hex), so Verify can check it later.
	metaSHA256 = "Mosaic-Sha256"
)

// Client is a bucket in an object store.
type Client struct {
	mc       *minio.Client
	bucket   string
	region   string
	partSize uint64
	threads  int
}

// New builds a client. It does not contact the store.
func New(cfg Config) (*Client, error) {
	host, secure, err := parseEndpoint(cfg.Endpoint, cfg.Secure)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("%w: bucket is required", ErrConfig)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("%w: access key and secret key are required", ErrConfig)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	retries := cfg.MaxRetries
	if retries <= 0 {
		retries = defaultMaxRetries
	}
	mc, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   retries,
		// Lets checksums be declared when a multipart upload is created,
		// which stores such as versitygw require to accept them on parts.
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	part := cfg.PartSize
	if part == 0 {
		part = defaultPartSize
	}
	if part < 5<<20 {
		return nil, fmt.Errorf("%w: part size %d below the S3 minimum of 5 MiB", ErrConfig, part)
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = defaultThreads
	}
	return &Client{mc: mc, bucket: cfg.Bucket, region: cfg.Region, partSize: part, threads: threads}, nil
}

func parseEndpoint(endpoint string, secure bool) (string, bool, error) {
	if endpoint == "" {
		return "", false, fmt.Errorf("%w: endpoint is required", ErrConfig)
	}
	if !strings.Contains(endpoint, "://") {
		return endpoint, secure, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("%w: endpoint %q: %w", ErrConfig, endpoint, err)
	}
	switch u.Scheme {
	case "http":
		secure = false
	case "https":
		secure = true
	default:
		return "", false, fmt.Errorf("%w: endpoint scheme %q", ErrConfig, u.Scheme)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", false, fmt.Errorf("%w: endpoint %q must be scheme://host[:port]", ErrConfig, endpoint)
	}
	return u.Host, secure, nil
}

// Bucket is the bucket this client works in.
func (c *Client) Bucket() string { return c.bucket }

// EnsureBucket creates the bucket if it does not exist yet.
func (c *Client) EnsureBucket(ctx context.Context) error {
	ok, err := c.mc.BucketExists(ctx, c.bucket)
	if err != nil {
		return fmt.Errorf("storage: bucket %q exists: %w", c.bucket, err)
	}
	if ok {
		return nil
	}
	err = c.mc.MakeBucket(ctx, c.bucket, minio.MakeBucketOptions{Region: c.region})
	if err != nil {
		var resp minio.ErrorResponse
		if asResp(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists") {
			return nil
		}
		return fmt.Errorf("storage: make bucket %q: %w", c.bucket, err)
	}
	return nil
}

// Healthy reports whether the store answers and the bucket exists.
func (c *Client) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, err := c.mc.BucketExists(ctx, c.bucket)
	if err != nil {
		return fmt.Errorf("storage: health: %w", err)
	}
	if !ok {
		return fmt.Errorf("storage: health: bucket %q: %w", c.bucket, ErrNotFound)
	}
	return nil
}
