package e2e

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestRoomEvents: the room's Server-Sent Events feed tells a page who
// joined, which tracks were added, who speaks, when a recording starts and
// stops, and who left.
func TestRoomEvents(t *testing.T) {
	s := startServer(t)
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": "feed"}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/api/rooms/feed/events?token="+s.token("feed", "view"), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	seen := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				seen <- name
			}
		}
		close(seen)
	}()

	var rec recordingView
	if code := s.call("POST", "/api/rooms/feed/recordings", s.admin, nil, &rec); code != http.StatusCreated {
		t.Fatalf("start recording: %d", code)
	}
	clip := filepath.Join(testenv.Inputs(t), "p1.webm")
	pub := testenv.Run(t, nil, s.bin, "publish", "--url", s.base+"/rooms/feed/whip", "--token", s.token("feed", "publish"),
		"--file", clip, "--duration", "5s")
	<-pub.Done()
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, &rec); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	want := map[string]bool{"room": false, "recording_started": false, "participant_joined": false, "track_added": false,
		"active_speaker": false, "participant_left": false, "recording_stopped": false}
	deadline := time.After(30 * time.Second)
	for {
		missing := []string{}
		for k, ok := range want {
			if !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return
		}
		select {
		case name, ok := <-seen:
			if !ok {
				t.Fatalf("event stream ended; still missing %v", missing)
			}
			if _, tracked := want[name]; tracked {
				want[name] = true
			}
		case <-deadline:
			t.Fatalf("events never seen: %v", missing)
		}
	}
}
