package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

// ffmpegMedia is a real remux with ffmpeg, standing in for the GStreamer
// implementation in the tests.
type ffmpegMedia struct{ concats atomic.Int32 }

func (m *ffmpegMedia) Concat(ctx context.Context, segments []string, out string) error {
	m.concats.Add(1)
	list := out + ".txt"
	var b strings.Builder
	for _, s := range segments {
		fmt.Fprintf(&b, "file '%s'\n", s)
	}
	if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return run(ctx, "ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", "-movflags", "+faststart", out)
}

func (m *ffmpegMedia) Thumbnail(ctx context.Context, video, out string) error {
	return run(ctx, "ffmpeg", "-v", "error", "-y", "-i", video, "-frames:v", "1", "-q:v", "4", out)
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// makeSegment writes a fragmented MP4 (H.264 + AAC) of the given length.
func makeSegment(t *testing.T, dir string, index int, seconds float64) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("local-%d.mp4", index))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := strconv.FormatFloat(seconds, 'f', 2, 64)
	err := run(ctx, "ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-shortest",
		"-movflags", "+frag_keyframe+empty_moov+default_base_moof", path)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func probeDuration(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s: %q", path, out)
	}
	return d
}

type env struct {
	redisURL string
	redis    *testenv.RedisServer
	s3       *testenv.S3
	store    *storage.Client
	cat      *catalog.Store
	rdb      *redis.Client
	log      *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{redis: testenv.StartRedis(t), s3: testenv.StartS3(t)}
	e.redisURL = e.redis.URL
	e.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	e.store, err = storage.New(storage.Config{Endpoint: e.s3.Endpoint, AccessKey: e.s3.AccessKey,
		SecretKey: e.s3.SecretKey, Region: e.s3.Region, Bucket: "recordings", PathStyle: true, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.store.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(e.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	e.rdb = redis.NewClient(opt)
	t.Cleanup(func() { e.rdb.Close() })
	e.cat = catalog.New(e.rdb, "mosaic:")
	return e
}

// startWorker runs a worker until the test ends.
func (e *env) startWorker(t *testing.T, cfg jobs.WorkerConfig) {
	t.Helper()
	cfg.RedisURL, cfg.Store, cfg.Catalog, cfg.Log = e.redisURL, e.store, e.cat, e.log
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = func(int, error) time.Duration { return 500 * time.Millisecond }
	}
	cfg.PollInterval = time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	w, err := jobs.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop")
		}
	})
}

func (e *env) enqueuer(t *testing.T, dir string) *jobs.Enqueuer {
	t.Helper()
	enq, err := jobs.NewEnqueuer(jobs.EnqueuerConfig{RedisURL: e.redisURL, Dir: dir, Catalog: e.cat, Log: e.log,
		OutboxInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enq.Close() })
	return enq
}

func (e *env) newRecording(t *testing.T, room string) *catalog.Recording {
	t.Helper()
	r := &catalog.Recording{ID: catalog.NewID(), Room: room, State: catalog.StateRecording, StartedAt: time.Now().UTC()}
	if err := e.cat.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
