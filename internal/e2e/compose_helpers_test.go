package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// compositionView is a composition as the API shows it.
type compositionView struct {
	ID       string  `json:"id"`
	State    string  `json:"state"`
	Progress float64 `json:"progress"`
	DoneS    float64 `json:"done_s"`
	TotalS   float64 `json:"total_s"`
	Key      string  `json:"key"`
	Attempts int     `json:"attempts"`
	Renders  int     `json:"renders"`
	URL      string  `json:"url"`
	Error    string  `json:"error"`
}

// recordTwoWithTracks records a room with raw tracks: p1 publishes from
// the start, p2 joins about 2 s in for 5 s. It returns the ready recording.
func recordTwoWithTracks(t *testing.T, s *server, room string) recordingView {
	t.Helper()
	inputs := testenv.Inputs(t)
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": room}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	first := s.publish(room, filepath.Join(inputs, "p1.webm"), "9s")
	waitParticipants(t, s, room, 1)
	rec := s.startRecording(room, map[string]any{"tracks": true})
	time.Sleep(2 * time.Second)
	late := s.publish(room, filepath.Join(inputs, "p2.webm"), "5s")
	waitProc(t, late, 60*time.Second)
	waitProc(t, first, 60*time.Second)
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	return s.waitState(rec.ID, "ready", 180*time.Second)
}

func (s *server) compose(id string, body map[string]any) compositionView {
	s.t.Helper()
	var c compositionView
	if code := s.call("POST", "/api/recordings/"+id+"/compositions", s.admin, body, &c); code != http.StatusCreated {
		s.t.Fatalf("compose %v: %d %+v", body, code, c)
	}
	if c.ID == "" || c.State != "queued" {
		s.t.Fatalf("new composition %+v", c)
	}
	return c
}

// waitComposition polls a composition until it reaches state.
func (s *server) waitComposition(id, cid, state string, timeout time.Duration) compositionView {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var c compositionView
	for time.Now().Before(deadline) {
		c = compositionView{}
		if code := s.call("GET", "/api/recordings/"+id+"/compositions/"+cid, s.admin, nil, &c); code != http.StatusOK {
			s.t.Fatalf("get composition: %d", code)
		}
		if c.State == state {
			return c
		}
		if c.State == "failed" || c.State == "cancelled" && state != "cancelled" {
			s.t.Fatalf("composition %s: %+v", cid, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("composition %s still %q after %s (want %q): %+v", cid, c.State, timeout, state, c)
	return c
}
