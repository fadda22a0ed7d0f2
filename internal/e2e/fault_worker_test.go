package e2e

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestWorkerKilledDuringUpload: a worker process is killed (SIGKILL) halfway
// through a segment's upload (its S3 traffic goes through a slow proxy, so
// the kill lands inside the PUT). asynq gives the task back once the dead
// worker's lease has expired (about a minute); a worker started then
// retries it, and every object ends complete and single.
func TestWorkerKilledDuringUpload(t *testing.T) {
	s := startServer(t, "--segment-duration", "3s", "--worker-concurrency", "0", "--node-id", "wk")
	id := recordClip(t, s, "wk", filepath.Join(testenv.Inputs(t), "p4.webm"), "--duration", "5s")
	var stopped recordingView
	if code := s.call("POST", "/api/recordings/"+id+"/stop", s.admin, nil, &stopped); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	worker := func(endpoint string, concurrency string) *testenv.Proc {
		return testenv.Run(t, nil, s.bin, "worker", "--redis-url", s.redis.URL,
			"--s3-endpoint", endpoint, "--s3-access-key", s.s3.AccessKey, "--s3-secret-key", s.s3.SecretKey,
			"--queues", "uploads:wk=6,default=3", "--concurrency", concurrency)
	}
	proxy := startSlowProxy(t, s.s3.Endpoint, 100<<10)
	w1 := worker(proxy.Addr, "1")
	deadline := time.Now().Add(60 * time.Second)
	for proxy.Up.Load() < 150<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("no upload through the proxy within 60 s (%d bytes):\n%s", proxy.Up.Load(), w1.Tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	w1.Kill()
	killed := time.Now()
	segs := 0
	for k := range s.objects("recordings/wk/" + id + "/") {
		if ok, _ := filepath.Match("recordings/wk/"+id+"/seg-*.mp4", k); ok {
			segs++
		}
	}
	t.Logf("worker killed after %d KiB went up; %d of %d segments stored", proxy.Up.Load()>>10, segs, stopped.Segments)
	if segs >= stopped.Segments {
		t.Fatalf("every segment stored before the kill: the kill did not cut an upload")
	}

	// The dead worker's lease runs out at most 30 s after the kill, and
	// asynq's recoverer takes back tasks whose lease expired 30 s ago or more;
	// it looks when a worker starts (then every minute): start the next
	// worker once both have passed, and the task is retried at once.
	time.Sleep(61 * time.Second)
	w2 := worker(s.s3.Endpoint, "2")
	ready := s.waitState(id, "ready", 90*time.Second)
	t.Logf("ready %s after the kill", time.Since(killed).Round(time.Second))
	checkStored(t, s, "wk", ready)
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", id, "seg-*.mp4")); len(left) > 0 {
		t.Errorf("local segments left: %v", left)
	}
	if err := w2.Signal(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("worker SIGTERM: %v", err)
	}
}
