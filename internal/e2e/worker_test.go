package e2e

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// recordClip publishes the clip into room while a recording runs, then stops
// the recording and returns its id.
func recordClip(t *testing.T, s *server, room, clip string, extra ...string) string {
	t.Helper()
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": room}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	var rec recordingView
	if code := s.call("POST", "/api/rooms/"+room+"/recordings", s.admin, nil, &rec); code != http.StatusCreated {
		t.Fatalf("start recording: %d %+v", code, rec)
	}
	args := append([]string{"publish", "--url", s.base + "/rooms/" + room + "/whip", "--token", s.token(room, "publish"), "--file", clip}, extra...)
	pub := testenv.Run(t, nil, s.bin, args...)
	select {
	case <-pub.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("publisher still running after 60 s")
	}
	if err := pub.Err(); err != nil {
		t.Fatalf("publish: %v\n%s", err, pub.Tail(20))
	}
	return rec.ID
}

// TestSeparateWorker: a node without an in-process worker only records and
// queues; a separate `mosaic worker` process uploads and finalizes.
func TestSeparateWorker(t *testing.T) {
	s := startServer(t, "--worker-concurrency", "0", "--node-id", "n1", "--segment-duration", "2s")
	clip := filepath.Join(testenv.Inputs(t), "p2.webm")
	id := recordClip(t, s, "solo", clip, "--duration", "5s")
	var rec recordingView
	if code := s.call("POST", "/api/recordings/"+id+"/stop", s.admin, nil, &rec); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	// Nobody works the queues yet: the recording waits, its segments on disk.
	time.Sleep(2 * time.Second)
	s.call("GET", "/api/recordings/"+id, s.admin, nil, &rec)
	if rec.State != "uploading" || rec.Uploaded != 0 || rec.Segments < 2 {
		t.Fatalf("without a worker: %+v, want uploading with ≥2 segments, none uploaded", rec)
	}
	local, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", id, "seg-*.mp4"))
	if len(local) != rec.Segments {
		t.Fatalf("%d local segments, catalog has %d", len(local), rec.Segments)
	}

	w := testenv.Run(t, nil, s.bin, "worker", "--redis-url", s.redis.URL,
		"--s3-endpoint", s.s3.Endpoint, "--s3-access-key", s.s3.AccessKey, "--s3-secret-key", s.s3.SecretKey,
		"--queues", "uploads:n1=6,default=3", "--concurrency", "2")
	ready := s.waitState(id, "ready", 90*time.Second)
	if ready.Uploaded != ready.Segments {
		t.Fatalf("ready with %d of %d segments uploaded", ready.Uploaded, ready.Segments)
	}
	if objs := s.objects("recordings/solo/" + id + "/composite.mp4"); len(objs) != 1 {
		t.Fatalf("composite not stored: %v", objs)
	}
	if err := w.Signal(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("worker SIGTERM: %v", err)
	}
	if err := w.Err(); err != nil {
		t.Fatalf("worker exit: %v\n%s", err, w.Tail(20))
	}
}

// TestSIGTERMLosesNothing: SIGTERM during a recording finalizes it: the
// process exits cleanly, and after a restart every segment is stored and
// the recording is ready, as long as what was recorded.
func TestSIGTERMLosesNothing(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s", "--worker-concurrency", "0", "--node-id", "n2")
	clip := filepath.Join(testenv.Inputs(t), "p3.webm")
	id := recordClip(t, s, "term", clip, "--duration", "5s")
	start := time.Now()
	if err := s.proc.Signal(syscall.SIGTERM, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.proc.Err(); err != nil {
		t.Fatalf("serve exit after SIGTERM: %v\n%s", err, s.proc.Tail(30))
	}
	t.Logf("shutdown took %s", time.Since(start).Round(time.Millisecond))
	// Restart with a worker: the queued uploads and finalization run.
	s.args = append(s.args, "--worker-concurrency", "2")
	s.start()
	ready := s.waitState(id, "ready", 90*time.Second)
	if ready.Segments < 2 || ready.Uploaded != ready.Segments {
		t.Fatalf("after restart: %+v", ready)
	}
	if ready.DurationS < 4.5 {
		t.Fatalf("recording holds %.2f s, published 5 s", ready.DurationS)
	}
	left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", id, "seg-*.mp4"))
	if len(left) > 0 {
		t.Fatalf("local segments left: %v", left)
	}
}
