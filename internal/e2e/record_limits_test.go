package e2e

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/jobs"
)

// compositeOf downloads a ready recording's composite and probes it.
func compositeOf(t *testing.T, rec recordingView) *mediatest.Info {
	t.Helper()
	for _, f := range rec.Files {
		if f.Name == "composite.mp4" {
			return mediatest.Probe(t, download(t, f.URL, t.TempDir(), "composite.mp4"))
		}
	}
	t.Fatalf("recording %s has no composite.mp4: %+v", rec.ID, rec.Files)
	return nil
}

// TestOverlappingRecordingsStopWhenRoomEmpty: two recordings of one room,
// the second started later, run side by side; nobody stops them: both end
// on their own once the room has been empty for --recording-empty-timeout,
// and each composite holds its own span.
func TestOverlappingRecordingsStopWhenRoomEmpty(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s", "--recording-empty-timeout", "3s")
	a := s.startRecording("overlap", nil)
	aStart := time.Now()
	pub := s.publish("overlap", filepath.Join(testenv.Inputs(t), "p1.webm"), "7s")
	time.Sleep(3 * time.Second)
	b := s.startRecording("overlap", map[string]any{"tracks": false})
	gap := time.Since(aStart).Seconds()
	if a.ID == b.ID {
		t.Fatalf("second recording has the same id %s", a.ID)
	}
	waitProc(t, pub, 60*time.Second)
	ra := s.waitState(a.ID, "ready", 90*time.Second)
	rb := s.waitState(b.ID, "ready", 90*time.Second)
	da, db := compositeOf(t, ra).Duration, compositeOf(t, rb).Duration
	t.Logf("A %.2f s, B %.2f s, B started %.2f s after A", da, db, gap)
	// A holds the 7 s published, then the empty room for the 3 s timeout
	// (the watchdog looks every second).
	if da < 7+3-1 || da > 7+3+5 {
		t.Errorf("A lasts %.2f s: want the 7 s published plus the 3 s empty timeout", da)
	}
	if d := da - db; math.Abs(d-gap) > 1.5 {
		t.Errorf("A is %.2f s longer than B, B started %.2f s later: they did not stop together", d, gap)
	}
	var list struct{ Recordings []recordingView }
	if code := s.call("GET", "/api/recordings?room=overlap", s.admin, nil, &list); code != http.StatusOK || len(list.Recordings) != 2 {
		t.Errorf("list of the room's recordings: %d, %d entries, want 2", code, len(list.Recordings))
	}
}

// TestMaxDurationStopsAndNotifies: a recording stops by itself at
// --recording-max-duration while the publisher goes on; once it is ready the
// webhook receives it, signed with --webhook-secret.
func TestMaxDurationStopsAndNotifies(t *testing.T) {
	const secret = "hook-secret-42"
	type hit struct {
		body []byte
		sig  string
	}
	hits := make(chan hit, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hits <- hit{body, r.Header.Get(jobs.SignatureHeader)}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	s := startServer(t, "--segment-duration", "2s", "--recording-max-duration", "4s",
		"--webhook-url", hook.URL+"/ready", "--webhook-secret", secret)
	rec := s.startRecording("capped", nil)
	pub := s.publish("capped", filepath.Join(testenv.Inputs(t), "p3.webm"), "9s")
	ready := s.waitState(rec.ID, "ready", 60*time.Second)
	select {
	case <-pub.Done():
		t.Fatalf("publisher finished before the capped recording was ready")
	default:
	}
	d := compositeOf(t, ready).Duration
	// The watchdog looks every second, and the last segment ends at EOS.
	if d < 3 || d > 6 {
		t.Errorf("capped recording lasts %.2f s, max duration 4 s", d)
	}
	select {
	case h := <-hits:
		if !jobs.VerifySignature(secret, h.body, h.sig) {
			t.Fatalf("webhook signature %q does not verify", h.sig)
		}
		if jobs.VerifySignature("other", h.body, h.sig) {
			t.Fatalf("signature verifies under another secret")
		}
		var got struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		if err := json.Unmarshal(h.body, &got); err != nil || got.ID != rec.ID || got.State != "ready" {
			t.Fatalf("webhook body %s: %v", h.body, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no webhook within 30 s of ready")
	}
	waitProc(t, pub, 60*time.Second)
}
