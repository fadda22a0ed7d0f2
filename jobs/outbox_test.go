package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/jobs"
)

func TestOutboxReenqueuesAfterRedisRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := e.newRecording(t, "room-o")
	dir := t.TempDir()
	enq := e.enqueuer(t, dir)
	// One task is already queued before the outage: its outbox copy must
	// count as done, not make a second task.
	first := jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 1, Path: "/data/seg1.mp4", Size: 10}
	if err := enq.EnqueueUpload(ctx, first); err != nil {
		t.Fatal(err)
	}

	e.redis.Stop()
	for i := 1; i <= 3; i++ {
		p := jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: i, Path: "/data/seg.mp4", Size: 10}
		if err := enq.EnqueueUpload(ctx, p); err != nil {
			t.Fatalf("enqueue with Redis down: %v", err)
		}
	}
	if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
		t.Fatal(err)
	}
	pending, err := enq.Outbox().Pending()
	if err != nil || len(pending) != 4 {
		t.Fatalf("outbox: %v %v", err, pending)
	}
	for _, id := range pending {
		if _, err := os.Stat(filepath.Join(dir, "outbox", id+".json")); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := enq.Outbox().Flush(ctx); err == nil || n != 0 {
		t.Fatalf("flush with Redis down: %d %v", n, err)
	}

	e.redis.Start()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- enq.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	eventually(t, 30*time.Second, "outbox empty", func() bool {
		p, err := enq.Outbox().Pending()
		return err == nil && len(p) == 0
	})

	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.redis.Addr})
	defer insp.Close()
	uploads, err := insp.ListPendingTasks(jobs.DefaultUploadQueue)
	if err != nil || len(uploads) != 3 {
		t.Fatalf("upload tasks after restart: %v %d", err, len(uploads))
	}
	if info, err := insp.GetTaskInfo("default", jobs.FinalizeTaskID(rec.ID)); err != nil || info.Type != jobs.TypeFinalize {
		t.Fatalf("finalize task: %v %+v", err, info)
	}
	// The task queued before the outage kept its original payload.
	info, err := insp.GetTaskInfo(jobs.DefaultUploadQueue, jobs.UploadTaskID(rec.ID, 1))
	if err != nil || string(info.Payload) == "" || !strings.Contains(string(info.Payload), "seg1.mp4") {
		t.Fatalf("first task: %v %s", err, info.Payload)
	}
}
