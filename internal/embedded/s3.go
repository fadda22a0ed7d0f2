// Package embedded runs the development services `mosaic serve` needs when
// none are configured: an S3 server (versitygw, in-process) and a Redis
// (a redis-server child process).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
)

// S3Config configures the embedded S3 server.
type S3Config struct {
	// Dir holds the objects (Dir/data) and their metadata (Dir/meta).
	Dir string
	// Addr is the listen address, default a free 127.0.0.1 port.
	Addr                 string
	AccessKey, SecretKey string
	Region               string // default us-east-1
	// StartTimeout bounds the wait for the server to accept (default 20s).
	StartTimeout time.Duration
	Log          *slog.Logger
}

// S3 is a running embedded S3 server.
type S3 struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
	log    *slog.Logger
}

var s3Running atomic.Bool

// StartS3 runs versitygw with its posix backend rooted at Dir/data and
// returns once it accepts connections. It lives until Close or until ctx
// ends. Only one runs per process.
//
// The posix backend resolves buckets relative to the working directory and
// changes the process's working directory to Dir/data: everything else in
// the process must use absolute paths.
func StartS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Dir == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("%w: S3 needs Dir, AccessKey and SecretKey", ErrConfig)
	}
	if len(cfg.SecretKey) < 8 {
		return nil, fmt.Errorf("%w: S3 secret key shorter than 8 characters", ErrConfig)
	}
	if !s3Running.CompareAndSwap(false, true) {
		return nil, ErrS3Running
	}
	s, err := startS3(ctx, cfg)
	if err != nil {
		s3Running.Store(false)
		return nil, err
	}
	return s, nil
}

func startS3(ctx context.Context, cfg S3Config) (*S3, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	data, metaDir := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, metaDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("embedded s3: %w", err)
		}
	}
	addr := cfg.Addr
	if addr == "" {
		if addr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
	}
	sidecar, err := meta.NewSideCar(metaDir)
	if err != nil {
		return nil, fmt.Errorf("embedded s3: metadata: %w", err)
	}
	be, err := posix.New(data, sidecar, posix.PosixOpts{SideCarDir: metaDir})
	if err != nil {
		return nil, fmt.Errorf("embedded s3: backend: %w", err)
	}
	gw := &embedgw.Config{
		RootUserAccess:    cfg.AccessKey,
		RootUserSecret:    cfg.SecretKey,
		Region:            cfg.Region,
		Ports:             []string{addr},
		MaxConnections:    250,
		MaxRequests:       100,
		MultipartMaxParts: 10000,
		Quiet:             true,
	}

	runCtx, cancel := context.WithCancel(ctx)
	s := &S3{addr: addr, cancel: cancel, done: make(chan struct{}), log: log.With("component", "s3", "addr", addr)}
	go func() {
		defer close(s.done)
		defer s3Running.Store(false)
		err := embedgw.RunVersityGW(runCtx, be, gw)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.err = fmt.Errorf("embedded s3: %w", err)
			s.log.Error("S3 server stopped", "err", err)
		}
	}()

	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	wctx, wcancel := context.WithTimeout(ctx, timeout)
	defer wcancel()
	if err := waitTCP(wctx, addr, s.done); err != nil {
		cancel()
		<-s.done
		return nil, errors.Join(fmt.Errorf("embedded s3: %w", err), s.err)
	}
	s.log.Info("S3 server ready", "dir", dir)
	return s, nil
}

// Endpoint is the server's host:port.
func (s *S3) Endpoint() string { return s.addr }

// Close stops the server and waits until it has stopped.
func (s *S3) Close() error {
	s.cancel()
	<-s.done
	return s.err
}
