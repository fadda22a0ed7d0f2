package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestKill9MidRecording: `kill -9` of mosaic serve while it records; after a
// restart every segment closed before the kill is stored intact, the open
// one is recovered up to its last fragment, and the composite misses at
// most about a second of the recording's wall time before the kill.
func TestKill9MidRecording(t *testing.T) {
	// No in-process worker before the kill, so that no upload is cut
	// (that is TestWorkerKilledDuringUpload's case).
	s := startServer(t, "--segment-duration", "2s", "--worker-concurrency", "0", "--node-id", "k9")
	rec := s.startRecording("k9", nil)
	recStart := time.Now()
	pub := s.publish("k9", filepath.Join(testenv.Inputs(t), "p1.webm"), "10s")
	time.Sleep(7 * time.Second)
	var before recordingView
	s.call("GET", "/api/recordings/"+rec.ID, s.admin, nil, &before)
	s.proc.Kill()
	wall := time.Since(recStart).Seconds()
	pub.Kill()
	local, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", rec.ID, "seg-*.mp4"))
	t.Logf("killed after %.2f s: %d segments closed, %d files on disk", wall, before.Segments, len(local))
	if before.Segments < 2 || len(local) < before.Segments+1 {
		t.Fatalf("before the kill: %d closed segments, %d files; want ≥2 closed and the open one", before.Segments, len(local))
	}

	s.args = append(s.args, "--worker-concurrency", "2")
	restart := time.Now()
	s.start()
	t.Logf("restarted in %s", time.Since(restart).Round(time.Millisecond))
	ready := s.waitState(rec.ID, "ready", 90*time.Second)
	t.Logf("ready %s after the restart", time.Since(restart).Round(time.Millisecond))
	if ready.Segments < before.Segments+1 {
		t.Fatalf("after recovery %d segments, %d were closed before the kill plus the open one", ready.Segments, before.Segments)
	}
	info := checkStored(t, s, "k9", ready)
	missing := wall - info.Duration
	t.Logf("composite %.2f s of %.2f s recorded before the kill: %.2f s lost", info.Duration, wall, missing)
	// ≤1 s fragment lost, plus the time to the recording's first keyframe.
	if missing > 1.5 {
		t.Errorf("%.2f s of media lost, want at most ~1 s", missing)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", rec.ID, "seg-*.mp4")); len(left) > 0 {
		t.Errorf("local segments left after recovery: %v", left)
	}
}
