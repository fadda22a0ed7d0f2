package embedded_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/embedded"
	"github.com/mosaic-rtc/mosaic/storage"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestS3StoresAndRestarts(t *testing.T) {
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	ctx := context.Background()
	dir := t.TempDir()
	cfg := embedded.S3Config{Dir: dir, AccessKey: "mosaic", SecretKey: "mosaic-secret", Log: testLog(t)}
	s3, err := embedded.StartS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.StartS3(ctx, embedded.S3Config{Dir: t.TempDir(), AccessKey: "a", SecretKey: "bbbbbbbb"}); !errors.Is(err, embedded.ErrS3Running) {
		t.Fatalf("second server: %v", err)
	}

	client := func(endpoint string) *storage.Client {
		c, err := storage.New(storage.Config{Endpoint: endpoint, AccessKey: "mosaic", SecretKey: "mosaic-secret", Bucket: "rec", PathStyle: true, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client(s3.Endpoint())
	if err := c.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(src, []byte("hello embedded s3"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, err := c.PutFile(ctx, "a/b.txt", src, storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", s3.Endpoint(), time.Second); err == nil {
		conn.Close()
		t.Fatal("still accepting after Close")
	}

	// Same directory, same port: the object is still there.
	cfg.Addr = s3.Endpoint()
	s3, err = embedded.StartS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if err := client(s3.Endpoint()).Verify(ctx, "a/b.txt", obj.Size, obj.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestS3BadConfig(t *testing.T) {
	for _, cfg := range []embedded.S3Config{{}, {Dir: t.TempDir()}, {Dir: t.TempDir(), AccessKey: "a", SecretKey: "short"}} {
		if _, err := embedded.StartS3(context.Background(), cfg); !errors.Is(err, embedded.ErrConfig) {
			t.Errorf("StartS3(%+v): %v", cfg, err)
		}
	}
}

func TestRedisPersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, err := embedded.StartRedis(ctx, embedded.RedisConfig{Dir: dir, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("still accepting after Close")
	}

	_, port, _ := net.SplitHostPort(r.Addr())
	p, _ := strconv.Atoi(port)
	r, err = embedded.StartRedis(ctx, embedded.RedisConfig{Dir: dir, Port: p, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rdb = redis.NewClient(opt)
	defer rdb.Close()
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart: %q %v", v, err)
	}
}

func TestRedisStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := embedded.StartRedis(ctx, embedded.RedisConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("still accepting after ctx ended")
	}
}

func TestRedisErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := embedded.StartRedis(ctx, embedded.RedisConfig{Dir: t.TempDir(), Bin: "/nonexistent/redis-server"}); !errors.Is(err, embedded.ErrConfig) {
		t.Fatalf("missing binary: %v", err)
	}
	if _, err := embedded.StartRedis(ctx, embedded.RedisConfig{}); !errors.Is(err, embedded.ErrConfig) {
		t.Fatalf("no dir: %v", err)
	}
	// The port is taken: redis-server exits and StartRedis says so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = embedded.StartRedis(ctx, embedded.RedisConfig{Dir: t.TempDir(), Port: port})
	if !errors.Is(err, embedded.ErrExited) {
		t.Fatalf("port in use: %v", err)
	}
}
