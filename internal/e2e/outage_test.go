package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestUploadRetriedWhileS3Down: with the object store stopped, segments
// stay on disk and their uploads are retried; once it is back every segment
// is stored, verified, and only then removed locally.
func TestUploadRetriedWhileS3Down(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s")
	s.s3.Stop()
	clip := filepath.Join(testenv.Inputs(t), "p4.webm")
	id := recordClip(t, s, "outage", clip, "--duration", "4s")
	var rec recordingView
	if code := s.call("POST", "/api/recordings/"+id+"/stop", s.admin, nil, &rec); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	time.Sleep(6 * time.Second) // several failed attempts
	s.call("GET", "/api/recordings/"+id, s.admin, nil, &rec)
	local, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", id, "seg-*.mp4"))
	if rec.State != "uploading" || rec.Uploaded != 0 || rec.Segments < 2 || len(local) != rec.Segments {
		t.Fatalf("with S3 down: %+v and %d local segments; want uploading, none uploaded, all kept", rec, len(local))
	}
	s.s3.Start()
	ready := s.waitState(id, "ready", 120*time.Second)
	if ready.Uploaded != ready.Segments {
		t.Fatalf("ready with %d of %d uploaded", ready.Uploaded, ready.Segments)
	}
	objs := s.objects("recordings/outage/" + id + "/")
	segs := 0
	for k := range objs {
		if matched, _ := filepath.Match("recordings/outage/"+id+"/seg-*.mp4", k); matched {
			segs++
		}
	}
	if segs != ready.Segments {
		t.Fatalf("%d segment objects, recording has %d: %v", segs, ready.Segments, objs)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", id, "seg-*.mp4")); len(left) > 0 {
		t.Fatalf("local segments left after upload: %v", left)
	}
}
