package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

type webhook struct {
	mu     sync.Mutex
	bodies [][]byte
	bad    int
	fail   int // answer 500 to this many requests first
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !jobs.VerifySignature("hook-secret", body, r.Header.Get(jobs.SignatureHeader)) {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.fail > 0 {
		h.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	h.bodies = append(h.bodies, body)
}

func (h *webhook) received() ([][]byte, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), h.bad
}

// TestFinalize records three segments, stops the recording while their
// uploads run, and expects exactly one finalize: a playable composite whose
// duration is the sum of the segments, a thumbnail, a manifest, state ready
// and one signed webhook call.
func TestFinalize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hook := &webhook{fail: 1}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	media := &ffmpegMedia{}
	e.startWorker(t, jobs.WorkerConfig{Media: media, WebhookURL: srv.URL, WebhookSecret: "hook-secret", Dir: t.TempDir()})

	rec := e.newRecording(t, "room-f")
	enq := e.enqueuer(t, t.TempDir())
	dir := t.TempDir()
	lengths := []float64{2, 2, 1.5}
	var want float64
	for i, d := range lengths {
		path := makeSegment(t, dir, i+1, d)
		want += probeDuration(t, path)
		sum, size, err := storage.HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		err = enq.EnqueueUpload(ctx, jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: i + 1,
			Path: path, Size: size, SHA256: sum, StartS: float64(i) * 2, DurationS: d})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Stop races the uploads; the stop path and the last upload may both
	// try to finalize.
	stopped, err := jobs.StopRecording(ctx, e.cat, enq, rec.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if stopped.State != catalog.StateUploading && stopped.State != catalog.StateReady {
		t.Fatalf("state after stop: %s", stopped.State)
	}
	if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
		t.Fatal(err)
	}

	var got *catalog.Recording
	eventually(t, 2*time.Minute, "recording ready", func() bool {
		got, err = e.cat.Get(ctx, rec.ID)
		return err == nil && (got.State == catalog.StateReady || got.State == catalog.StateFailed)
	})
	if got.State != catalog.StateReady {
		t.Fatalf("recording %s: %s", got.State, got.Error)
	}
	if n := media.concats.Load(); n != 1 {
		t.Fatalf("finalize ran %d times", n)
	}
	if math.Abs(got.DurationS-want) > 0.3 {
		t.Fatalf("duration %.2f, segments sum to %.2f", got.DurationS, want)
	}
	files := map[string]catalog.File{}
	for _, f := range got.Files {
		files[f.Name] = f
	}
	for _, name := range []string{jobs.CompositeName, jobs.ThumbnailName, jobs.ManifestName} {
		f, ok := files[name]
		if !ok || f.Key != jobs.FileKey(rec.Room, rec.ID, name) || f.Size == 0 {
			t.Fatalf("file %s: %+v", name, got.Files)
		}
		if err := e.store.Verify(ctx, f.Key, f.Size, f.SHA256); err != nil {
			t.Fatal(err)
		}
	}

	out := t.TempDir()
	composite := filepath.Join(out, "composite.mp4")
	if err := e.store.Download(ctx, files[jobs.CompositeName].Key, composite); err != nil {
		t.Fatal(err)
	}
	if d := probeDuration(t, composite); math.Abs(d-want) > 0.3 {
		t.Fatalf("composite lasts %.2f s, segments %.2f s", d, want)
	}
	if !moovBeforeMdat(t, composite) {
		t.Fatal("composite index is not at the front")
	}
	thumb := filepath.Join(out, "thumb.jpg")
	if err := e.store.Download(ctx, files[jobs.ThumbnailName].Key, thumb); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(thumb); len(b) < 100 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatal("thumbnail is not a JPEG")
	}
	mpath := filepath.Join(out, "manifest.json")
	if err := e.store.Download(ctx, files[jobs.ManifestName].Key, mpath); err != nil {
		t.Fatal(err)
	}
	var m jobs.Manifest
	data, _ := os.ReadFile(mpath)
	if err := json.Unmarshal(data, &m); err != nil || m.ID != rec.ID || len(m.Segments) != 3 || len(m.Files) != 2 ||
		m.Segments[2].Key != jobs.SegmentKey(rec.Room, rec.ID, 3) || m.Segments[2].DurationS != 1.5 {
		t.Fatalf("manifest %v: %s", err, data)
	}

	eventually(t, time.Minute, "webhook", func() bool { b, _ := hook.received(); return len(b) > 0 })
	time.Sleep(2 * time.Second) // a second notification would arrive by now
	bodies, bad := hook.received()
	if len(bodies) != 1 || bad != 0 {
		t.Fatalf("webhook: %d deliveries, %d bad signatures", len(bodies), bad)
	}
	var sent catalog.Recording
	if err := json.Unmarshal(bodies[0], &sent); err != nil || sent.ID != rec.ID || sent.State != catalog.StateReady || len(sent.Files) != 3 {
		t.Fatalf("webhook body %v: %s", err, bodies[0])
	}

	// Finalizing again changes nothing.
	if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := media.concats.Load(); n != 1 {
		t.Fatalf("finalize ran again: %d", n)
	}
}

// moovBeforeMdat reports whether the file's top-level moov box comes before
// its mdat box.
func moovBeforeMdat(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var off int64
	for {
		var hdr [16]byte
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			return false
		}
		size := int64(uint32(hdr[0])<<24 | uint32(hdr[1])<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]))
		typ := string(hdr[4:8])
		if size == 1 {
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				return false
			}
			size = 0
			for _, b := range hdr[8:16] {
				size = size<<8 | int64(b)
			}
		}
		switch typ {
		case "moov":
			return true
		case "mdat":
			return false
		}
		if size < 8 {
			return false
		}
		off += size
	}
}

func TestFinalizeNotReadyAndEmpty(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Media: &ffmpegMedia{}, Log: e.log})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	finalize := func(id string) error {
		task, err := jobs.NewFinalizeTask(jobs.FinalizePayload{RecordingID: id})
		if err != nil {
			t.Fatal(err)
		}
		return w.Mux().ProcessTask(ctx, task)
	}

	// Still recording, then stopped with a segment not uploaded: retried.
	rec := e.newRecording(t, "room-x")
	if err := finalize(rec.ID); !errors.Is(err, jobs.ErrNotReady) {
		t.Fatalf("while recording: %v", err)
	}
	now := time.Now()
	e.cat.Update(ctx, rec.ID, func(r *catalog.Recording) error {
		r.StoppedAt, r.State = &now, catalog.StateUploading
		r.PutSegment(catalog.Segment{Index: 1, Name: "seg-00001.mp4"})
		return nil
	})
	if err := finalize(rec.ID); !errors.Is(err, jobs.ErrNotReady) || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("segment not uploaded: %v", err)
	}
	if got, _ := e.cat.Get(ctx, rec.ID); got.State != catalog.StateUploading {
		t.Fatalf("state: %s", got.State)
	}

	// Stopped long ago without any segment: failed for good.
	empty := e.newRecording(t, "room-x")
	long := time.Now().Add(-10 * time.Minute)
	e.cat.Update(ctx, empty.ID, func(r *catalog.Recording) error { r.StoppedAt, r.State = &long, catalog.StateUploading; return nil })
	if err := finalize(empty.ID); !errors.Is(err, jobs.ErrNoSegments) || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("no segments: %v", err)
	}
	if got, _ := e.cat.Get(ctx, empty.ID); got.State != catalog.StateFailed || got.Error == "" {
		t.Fatalf("empty recording: %s %q", got.State, got.Error)
	}
	// An unknown recording is not retried.
	if err := finalize(catalog.NewID()); !errors.Is(err, catalog.ErrNotFound) || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("unknown recording: %v", err)
	}
}

// TestFinalizeUsesKeptSegments: a worker with a data directory keeps the
// segments the store confirmed (moved, not copied) and finalizes from them,
// except one whose kept copy no longer matches its checksum, which is
// downloaded; the kept copies are removed once the recording is ready.
func TestFinalizeUsesKeptSegments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	media := &ffmpegMedia{}
	data := t.TempDir()
	e.startWorker(t, jobs.WorkerConfig{Media: media, Dir: data})
	rec := e.newRecording(t, "room-k")
	enq := e.enqueuer(t, t.TempDir())
	dir := t.TempDir()
	var want float64
	var paths []string
	for i := 1; i <= 3; i++ {
		path := makeSegment(t, dir, i, 2)
		want += probeDuration(t, path)
		paths = append(paths, path)
		sum, size, err := storage.HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := enq.EnqueueUpload(ctx, jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: i,
			Path: path, Size: size, SHA256: sum, StartS: float64(i-1) * 2, DurationS: 2}); err != nil {
			t.Fatal(err)
		}
	}
	// A segment is marked uploaded, then moved to the kept copies.
	eventually(t, time.Minute, "segments uploaded and moved", func() bool {
		got, err := e.cat.Get(ctx, rec.ID)
		if err != nil || len(got.Segments) != 3 || !got.AllUploaded() {
			return false
		}
		for _, p := range paths {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				return false
			}
		}
		return true
	})
	kept := filepath.Join(data, "tmp", "kept", rec.ID)
	for i, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("uploaded segment still in the recording directory: %v", err)
		}
		st, err := os.Stat(filepath.Join(kept, jobs.SegmentName(i+1)))
		if err != nil {
			t.Fatalf("confirmed segment not kept: %v", err)
		}
		if st.Size() == 0 {
			t.Fatal("kept segment is empty")
		}
	}
	// Segment 2's kept copy is damaged: half of it is gone.
	damaged := filepath.Join(kept, jobs.SegmentName(2))
	st, _ := os.Stat(damaged)
	if err := os.Truncate(damaged, st.Size()/2); err != nil {
		t.Fatal(err)
	}

	if _, err := jobs.StopRecording(ctx, e.cat, enq, rec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
		t.Fatal(err)
	}
	var got *catalog.Recording
	eventually(t, time.Minute, "recording ready", func() bool {
		var err error
		got, err = e.cat.Get(ctx, rec.ID)
		return err == nil && (got.State == catalog.StateReady || got.State == catalog.StateFailed)
	})
	if got.State != catalog.StateReady {
		t.Fatalf("recording %s: %s", got.State, got.Error)
	}
	var key string
	for _, f := range got.Files {
		if f.Name == jobs.CompositeName {
			key = f.Key
		}
	}
	composite := filepath.Join(t.TempDir(), "composite.mp4")
	if err := e.store.Download(ctx, key, composite); err != nil {
		t.Fatal(err)
	}
	if d := probeDuration(t, composite); math.Abs(d-want) > 0.3 {
		t.Fatalf("composite lasts %.2f s, segments %.2f s", d, want)
	}
	if _, err := os.Stat(kept); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("kept segments not removed after finalize: %v", err)
	}
}
