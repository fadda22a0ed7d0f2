package e2e

import (
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestComposeWorkers: separate `mosaic worker` processes share the
// compositions: ten jobs are each rendered exactly once; a worker killed
// (SIGKILL) mid-render loses nothing — another one renders the job again
// once its lease runs out — and one stopped with SIGTERM mid-render
// finishes it or hands it back.
func TestComposeWorkers(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s", "--worker-concurrency", "0", "--node-id", "nw")
	worker := func() *testenv.Proc {
		return testenv.Run(t, nil, s.bin, "worker", "--redis-url", s.redis.URL,
			"--s3-endpoint", s.s3.Endpoint, "--s3-access-key", s.s3.AccessKey, "--s3-secret-key", s.s3.SecretKey,
			"--queues", "uploads:nw=6,default=3", "--concurrency", "1")
	}
	workers := []*testenv.Proc{worker(), worker()}
	rec := recordTwoWithTracks(t, s, "work")

	var ids []string
	for range 10 {
		ids = append(ids, s.compose(rec.ID, map[string]any{"width": 320, "height": 180}).ID)
	}
	for _, id := range ids {
		c := s.waitComposition(rec.ID, id, "done", 300*time.Second)
		if c.Renders != 1 || c.Attempts != 1 {
			t.Errorf("composition %s: %d renders in %d attempts, want exactly one", id, c.Renders, c.Attempts)
		}
	}
	perWorker := make([]int, len(workers))
	for _, id := range ids {
		n := 0
		for i, w := range workers {
			k := countLines(w.Output(), "composition done", id)
			perWorker[i] += k
			n += k
		}
		if n != 1 {
			t.Errorf("composition %s done %d times in the workers' logs", id, n)
		}
	}
	t.Logf("compositions per worker: %v", perWorker)
	if objs := s.objects("recordings/work/" + rec.ID + "/compositions/"); len(objs) != len(ids) {
		t.Errorf("%d compositions stored, want %d", len(objs), len(ids))
	}

	// SIGKILL mid-render: another worker takes the job over.
	heavy := map[string]any{"width": 1920, "height": 1080, "fps": 60}
	killed := s.compose(rec.ID, heavy)
	victim := renderingWorker(t, s, rec.ID, killed.ID, workers)
	workers[victim].Kill()
	workers[victim] = worker()
	c := s.waitComposition(rec.ID, killed.ID, "done", 300*time.Second)
	if c.Attempts < 2 || c.Renders != 1 {
		t.Errorf("after SIGKILL: %+v, want a second attempt and one render", c)
	}
	checkComposition(t, s, rec, c, 1920, 1080)

	// SIGTERM mid-render: finished or handed back, done once either way.
	termed := s.compose(rec.ID, heavy)
	victim = renderingWorker(t, s, rec.ID, termed.ID, workers)
	if err := workers[victim].Signal(syscall.SIGTERM, 60*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := workers[victim].Err(); err != nil {
		t.Errorf("worker exit after SIGTERM: %v\n%s", err, workers[victim].Tail(20))
	}
	c = s.waitComposition(rec.ID, termed.ID, "done", 300*time.Second)
	if c.Renders != 1 {
		t.Errorf("after SIGTERM: %+v, want one render", c)
	}
	checkComposition(t, s, rec, c, 1920, 1080)
}

// renderingWorker waits until a worker logs that it renders cid and
// returns its index.
func renderingWorker(t *testing.T, s *server, id, cid string, workers []*testenv.Proc) int {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		for i, w := range workers {
			if countLines(w.Output(), "composition rendering", cid) > 0 {
				return i
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no worker renders %s", cid)
	return -1
}

func countLines(out, what, id string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, what) && strings.Contains(line, id) {
			n++
		}
	}
	return n
}

func checkComposition(t *testing.T, s *server, rec recordingView, c compositionView, w, h int) {
	t.Helper()
	if c.URL == "" {
		t.Fatalf("done composition without URL: %+v", c)
	}
	info := mediatest.Probe(t, download(t, c.URL, t.TempDir(), c.ID+".mp4"))
	if v := info.Video(); v == nil || v.Width != w || v.Height != h || info.Audio() == nil || math.Abs(info.Duration-rec.DurationS) > 1.5 {
		t.Errorf("composition %s: %.2f s (recording %.2f s), streams %+v", c.ID, info.Duration, rec.DurationS, info.Streams)
	}
}
