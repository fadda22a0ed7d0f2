package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

// blockingMedia holds Concat until its context ends.
type blockingMedia struct{ started chan struct{} }

func (m *blockingMedia) Concat(ctx context.Context, _ []string, _ string) error {
	close(m.started)
	<-ctx.Done()
	return ctx.Err()
}

func (m *blockingMedia) Thumbnail(context.Context, string, string) error { return nil }

// TestWorkerShutdownHandsBackTask stops a worker in the middle of a
// finalize: Run returns, the task goes back to the queue, and the next
// worker finishes it.
func TestWorkerShutdownHandsBackTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := e.newRecording(t, "room-w")
	path := makeSegment(t, t.TempDir(), 1, 1)
	sum, size, _ := storage.HashFile(path)
	if _, err := e.store.PutFile(ctx, jobs.SegmentKey(rec.Room, rec.ID, 1), path, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := e.cat.Update(ctx, rec.ID, func(r *catalog.Recording) error {
		r.PutSegment(catalog.Segment{Index: 1, Name: jobs.SegmentName(1), DurationS: 1, Size: size, SHA256: sum, Uploaded: true})
		r.StoppedAt, r.State = &now, catalog.StateUploading
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	block := &blockingMedia{started: make(chan struct{})}
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Media: block,
		Log: e.log, ShutdownTimeout: time.Second, PollInterval: time.Second,
		RetryDelay: func(int, error) time.Duration { return 500 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	enq := e.enqueuer(t, "")
	if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-block.started:
	case <-time.After(60 * time.Second):
		t.Fatal("finalize never started")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.redis.Addr})
	defer insp.Close()
	info, err := insp.GetTaskInfo("default", jobs.FinalizeTaskID(rec.ID))
	if err != nil {
		t.Fatal(err)
	}
	if info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived {
		t.Fatalf("interrupted task is %s", info.State)
	}
	if got, _ := e.cat.Get(ctx, rec.ID); got.State != catalog.StateUploading {
		t.Fatalf("state after an interrupted finalize: %s", got.State)
	}

	media := &ffmpegMedia{}
	e.startWorker(t, jobs.WorkerConfig{Media: media})
	eventually(t, 90*time.Second, "recording ready", func() bool {
		r, err := e.cat.Get(ctx, rec.ID)
		return err == nil && r.State == catalog.StateReady
	})
	if media.concats.Load() != 1 {
		t.Fatalf("concats: %d", media.concats.Load())
	}
}
