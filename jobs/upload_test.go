package jobs_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

func TestUploadRetriesUntilStoreIsBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := e.newRecording(t, "room-a")
	path := makeSegment(t, t.TempDir(), 1, 1)
	sum, size, err := storage.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}

	e.s3.Stop()
	enq := e.enqueuer(t, "")
	p := jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 1, Path: path, Size: size, SHA256: sum, DurationS: 1}
	if err := enq.EnqueueUpload(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, jobs.WorkerConfig{})

	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.redis.Addr})
	defer insp.Close()
	eventually(t, 30*time.Second, "a failed attempt", func() bool {
		info, err := insp.GetTaskInfo(jobs.DefaultUploadQueue, jobs.UploadTaskID(rec.ID, 1))
		return err == nil && info.Retried >= 2
	})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("local segment removed before the store confirmed it: %v", err)
	}
	got, _ := e.cat.Get(ctx, rec.ID)
	if s := got.Segment(1); s == nil || s.Uploaded {
		t.Fatalf("segment before upload: %+v", s)
	}

	e.s3.Start()
	eventually(t, 60*time.Second, "segment uploaded", func() bool {
		r, err := e.cat.Get(ctx, rec.ID)
		return err == nil && r.Segment(1) != nil && r.Segment(1).Uploaded
	})
	if err := e.store.Verify(ctx, jobs.SegmentKey(rec.Room, rec.ID, 1), size, sum); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "local file removed", func() bool {
		_, err := os.Stat(path)
		return errors.Is(err, os.ErrNotExist)
	})
	got, _ = e.cat.Get(ctx, rec.ID)
	if s := got.Segment(1); s.Size != size || s.SHA256 != sum || s.DurationS != 1 || s.Name != "seg-00001.mp4" {
		t.Fatalf("segment after upload: %+v", s)
	}
	if got.State != catalog.StateRecording {
		t.Fatalf("state %s while still recording", got.State)
	}
}

func TestDuplicateEnqueueMakesOneTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := e.newRecording(t, "room-b")
	path := makeSegment(t, t.TempDir(), 1, 1)
	enq := e.enqueuer(t, "")
	p := jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 1, Path: path}
	for range 3 {
		if err := enq.EnqueueUpload(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.redis.Addr})
	defer insp.Close()
	tasks, err := insp.ListPendingTasks(jobs.DefaultUploadQueue)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].ID != jobs.UploadTaskID(rec.ID, 1) || tasks[0].MaxRetry < 20 || tasks[0].Timeout <= 0 {
		t.Fatalf("pending tasks: %+v", tasks)
	}
}

func TestUploadIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := e.newRecording(t, "room-c")
	dir := t.TempDir()
	path := makeSegment(t, dir, 1, 1)
	sum, size, _ := storage.HashFile(path)
	key := jobs.SegmentKey(rec.Room, rec.ID, 1)
	before, err := e.store.PutFile(ctx, key, path, storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Log: e.log})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The object is already there with the same size and checksum: no
	// second put, and the local file goes.
	time.Sleep(1100 * time.Millisecond)
	task, err := jobs.NewUploadTask(jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 1, Path: path, Size: size, SHA256: sum}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Mux().ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	after, err := e.store.Stat(ctx, key)
	if err != nil || !after.LastModified.Equal(before.LastModified) {
		t.Fatalf("object was written again: %v %v -> %v", err, before.LastModified, after.LastModified)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("local file kept: %v", err)
	}
	// A retry after the local file is gone succeeds, with or without a
	// checksum in the payload.
	for _, sha := range []string{sum, ""} {
		task, _ = jobs.NewUploadTask(jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 1, Path: path, Size: size, SHA256: sha}, "")
		if err := w.Mux().ProcessTask(ctx, task); err != nil {
			t.Fatalf("retry without local file (sha %q): %v", sha, err)
		}
	}
	got, _ := e.cat.Get(ctx, rec.ID)
	if !got.Segment(1).Uploaded {
		t.Fatal("segment not marked uploaded")
	}

	// Local file gone and nothing in the store: the segment is lost, the
	// task is not retried and the recording is failed.
	task, _ = jobs.NewUploadTask(jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: 2, Path: path, Size: size, SHA256: sum}, "")
	err = w.Mux().ProcessTask(ctx, task)
	if !errors.Is(err, jobs.ErrSegmentLost) || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("lost segment: %v", err)
	}
	got, _ = e.cat.Get(ctx, rec.ID)
	if got.State != catalog.StateFailed || got.Error == "" {
		t.Fatalf("recording after a lost segment: %s %q", got.State, got.Error)
	}
}

func TestBadPayloads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Log: e.log})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, typ := range []string{jobs.TypeUpload, jobs.TypeFinalize, jobs.TypeNotify} {
		bodies := []string{"{", `{"recording_id":"../../etc"}`, "null", `[1]`}
		if typ == jobs.TypeUpload {
			bodies = append(bodies, `{"recording_id":"rec_0123456789abcdef0123","room":"a/b","index":1,"path":"/x"}`)
		}
		for _, body := range bodies {
			err := w.Mux().ProcessTask(ctx, asynq.NewTask(typ, []byte(body)))
			if !errors.Is(err, jobs.ErrBadPayload) || !errors.Is(err, asynq.SkipRetry) {
				t.Errorf("%s %s: %v", typ, body, err)
			}
		}
	}
	good := catalog.NewID()
	for _, p := range []jobs.UploadPayload{
		{RecordingID: "nope", Room: "r", Index: 1, Path: "/x"},
		{RecordingID: good, Room: "r", Index: 0, Path: "/x"},
		{RecordingID: good, Room: "r", Index: 1, Path: ""},
		{RecordingID: good, Room: "r", Index: 1, Path: "/x", Key: "../x"},
		{RecordingID: good, Room: "r", Index: 1, Path: "/x", SHA256: "zz"},
	} {
		if _, err := jobs.NewUploadTask(p, ""); !errors.Is(err, jobs.ErrBadPayload) {
			t.Errorf("NewUploadTask(%+v): %v", p, err)
		}
	}
	if _, err := jobs.NewNotifyTask(jobs.NotifyPayload{RecordingID: good, URL: "file:///etc/passwd"}); !errors.Is(err, jobs.ErrBadPayload) {
		t.Errorf("notify with file URL: %v", err)
	}
}
