package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestRetentionDeletesOnlyFinished: with a tiny --retention, a ready
// recording disappears (objects, then catalog) once it is older than that,
// not before; a recording still running across the sweeps is untouched.
func TestRetentionDeletesOnlyFinished(t *testing.T) {
	const retention = 8 * time.Second
	s := startServer(t, "--segment-duration", "2s", "--retention", retention.String(), "--retention-interval", "1s")
	running := s.startRecording("keep", nil)
	id := recordClip(t, s, "old", filepath.Join(testenv.Inputs(t), "p1.webm"), "--duration", "3s")
	if code := s.call("POST", "/api/recordings/"+id+"/stop", s.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	stopped := time.Now()
	s.waitState(id, "ready", 60*time.Second)
	prefix := "recordings/old/" + id + "/"
	if objs := s.objects(prefix); len(objs) < 3 {
		t.Fatalf("ready recording has %d objects: %v", len(objs), objs)
	}

	deadline := time.Now().Add(retention + 30*time.Second)
	for {
		var rec recordingView
		code := s.call("GET", "/api/recordings/"+id, s.admin, nil, &rec)
		if code == http.StatusNotFound {
			break
		}
		if code != http.StatusOK {
			t.Fatalf("get recording: %d", code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s still there %s after stop (retention %s): %+v", id, time.Since(stopped), retention, rec)
		}
		time.Sleep(250 * time.Millisecond)
	}
	gone := time.Since(stopped)
	t.Logf("deleted %.1f s after stop (retention %s)", gone.Seconds(), retention)
	if gone < retention-time.Second {
		t.Errorf("deleted %s after stop, before the %s retention", gone, retention)
	}
	if objs := s.objects(prefix); len(objs) != 0 {
		t.Errorf("objects left after retention: %v", objs)
	}

	// The recording that never stopped is older than the retention too.
	var rec recordingView
	if code := s.call("GET", "/api/recordings/"+running.ID, s.admin, nil, &rec); code != http.StatusOK || rec.State != "recording" {
		t.Fatalf("running recording after the sweeps: %d %+v", code, rec)
	}
	if objs := s.objects("recordings/keep/" + running.ID + "/"); len(objs) == 0 || rec.Uploaded == 0 {
		t.Errorf("running recording's uploaded segments: catalog %d, store %v", rec.Uploaded, objs)
	}
}
