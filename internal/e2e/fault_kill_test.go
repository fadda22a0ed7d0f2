package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestKill9MidRecording: `kill -9` of mosaic serve while it records; after a
// restart every segment closed before the kill is stored intact, the open
// one is recovered up to its last fragment, and the composite misses at
// most about a second of the recording's wall time before the kill. The raw
// track files cut by the kill are recovered too.
func TestKill9MidRecording(t *testing.T) {
	// No in-process worker before the kill, so that no upload is cut
	// (that is TestWorkerKilledDuringUpload's case).
	s := startServer(t, "--segment-duration", "2s", "--worker-concurrency", "0", "--node-id", "k9")
	rec := s.startRecording("k9", map[string]any{"tracks": true})
	recStart := time.Now()
	pub := s.publish("k9", filepath.Join(testenv.Inputs(t), "p1.webm"), "10s")
	time.Sleep(7 * time.Second)
	var before recordingView
	s.call("GET", "/api/recordings/"+rec.ID, s.admin, nil, &before)
	// What the open segment holds an instant before the kill.
	open, openCopy := snapshotOpenSegment(t, filepath.Join(s.dataDir, "recordings", rec.ID))
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

	// The open segment is recovered with every fragment it had on disk.
	var m storedManifest
	if err := json.Unmarshal(s.getObject("recordings/k9/"+rec.ID+"/manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	had := 0.0
	if pi, err := mediatest.ProbeFile(openCopy); err == nil {
		had = pi.Duration
	}
	got := -1.0
	for _, seg := range m.Segments {
		if seg.Index == open {
			got = seg.DurationS
		}
	}
	t.Logf("open segment %d: %.2f s on disk just before the kill, %.2f s recovered", open, had, got)
	if got < had-0.3 {
		t.Errorf("open segment %d recovered with %.2f s, it held %.2f s before the kill", open, got, had)
	}
	// Lost: the unflushed fragment (250 ms) and what was in flight in the
	// muxer, plus the time to the first keyframe (~1.2 s measured). The
	// bound is loose because a starved mixer also runs behind the wall clock.
	if missing > 3 {
		t.Errorf("%.2f s of media lost, want about 1 s", missing)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", rec.ID, "seg-*.mp4")); len(left) > 0 {
		t.Errorf("local segments left after recovery: %v", left)
	}
	tracks := 0
	for _, f := range ready.Files {
		if !strings.HasPrefix(f.Name, "tracks/") || !strings.HasSuffix(f.Name, ".mkv") {
			continue
		}
		tracks++
		path := download(t, f.URL, t.TempDir(), filepath.Base(f.Name))
		ti := mediatest.Probe(t, path)
		// The file cut by the kill has no duration in its header: its
		// length is its last packet's time.
		d := lastPacketTime(t, path)
		t.Logf("recovered %s: %d stream(s), last packet at %.2f s", f.Name, len(ti.Streams), d)
		if len(ti.Streams) != 1 || d < wall-2.5 {
			t.Errorf("recovered track %s: %d streams, %.2f s of %.2f s", f.Name, len(ti.Streams), d, wall)
		}
	}
	if tracks != 2 {
		t.Errorf("%d track files after recovery, want the publisher's 2: %+v", tracks, ready.Files)
	}
}

// snapshotOpenSegment copies the highest-numbered (open) segment of a
// recording directory and returns its index and the copy's path.
func snapshotOpenSegment(t *testing.T, dir string) (int, string) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.mp4"))
	if len(segs) == 0 {
		t.Fatalf("no segment in %s", dir)
	}
	sort.Strings(segs)
	last := segs[len(segs)-1]
	var index int
	if _, err := fmt.Sscanf(filepath.Base(last), "seg-%05d.mp4", &index); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "open.mp4")
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return index, cp
}
