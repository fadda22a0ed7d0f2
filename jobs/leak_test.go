package jobs_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaic-rtc/mosaic/jobs"
)

// TestWorkerLeavesNoGoroutines runs a worker and its enqueuer and checks
// that stopping them leaves nothing running.
func TestWorkerLeavesNoGoroutines(t *testing.T) {
	e := newEnv(t)
	opts := goleak.IgnoreCurrent()
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Log: e.log,
		Dir: t.TempDir(), PollInterval: time.Second, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, opts)
}
