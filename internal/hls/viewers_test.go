package hls

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/mixer"
)

// watchers is an audience as the room registry keeps it: viewer ids in,
// Leave takes them out.
type watchers struct {
	mu     sync.Mutex
	live   map[string]bool
	joined int
}

type watcher struct {
	w  *watchers
	id string
}

func (v watcher) Leave() {
	v.w.mu.Lock()
	delete(v.w.live, v.id)
	v.w.mu.Unlock()
}

func (w *watchers) watch(room, id string) (Viewer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live[room+"/"+id] = true
	w.joined++
	return watcher{w, room + "/" + id}, nil
}

func (w *watchers) count() (live, joined int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.live), w.joined
}

// Two players polling a room's playlist are two viewers; one that stops
// polling leaves after the viewer timeout, the other stays.
func TestHLSViewersCountedAndExpire(t *testing.T) {
	m := startMixer(t, "tv")
	aud := &watchers{live: map[string]bool{}}
	rs := &rooms{m: map[string]*mixer.Mixer{"tv": m}}
	srv, err := New(Config{Rooms: rs, Watch: aud.watch,
		ViewerTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Close)
	base := hs.URL + "/rooms/tv/hls/"

	poll := func(ua string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"index.m3u8", nil)
		req.Header.Set("User-Agent", ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: playlist %d", ua, resp.StatusCode)
		}
	}
	if resp, _ := get(t, base+"nothing.mp4"); resp.StatusCode != http.StatusNotFound || srv.Viewers("tv") != 0 {
		t.Fatalf("a 404 counts: %d, %d viewers", resp.StatusCode, srv.Viewers("tv"))
	}
	for range 3 {
		poll("player-a")
		poll("player-b")
		time.Sleep(300 * time.Millisecond)
	}
	if n := srv.Viewers("tv"); n != 2 {
		t.Fatalf("two players polling: %d HLS viewers", n)
	}
	if live, joined := aud.count(); live != 2 || joined != 2 {
		t.Fatalf("room audience: %d live, %d joined; want 2 and 2", live, joined)
	}
	// b stops; a keeps polling.
	stopped := time.Now()
	for srv.Viewers("tv") != 1 {
		if time.Since(stopped) > 5*time.Second {
			t.Fatalf("still %d viewers 5 s after one player stopped", srv.Viewers("tv"))
		}
		poll("player-a")
		time.Sleep(300 * time.Millisecond)
	}
	gone := time.Since(stopped)
	if gone < 1200*time.Millisecond {
		t.Errorf("a viewer left %s after its last request, before the 1.5 s timeout", gone)
	}
	if live, joined := aud.count(); live != 1 || joined != 2 {
		t.Errorf("after one left: %d live, %d joined; want 1 and 2", live, joined)
	}
	t.Logf("a stopped player left %.1f s after its last request", gone.Seconds())

	// The room closes and opens again: the polling player joins the new one.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rs.mu.Lock()
	rs.m["tv"] = startMixer(t, "tv")
	rs.mu.Unlock()
	poll("player-a")
	if live, joined := aud.count(); live != 1 || joined != 3 || srv.Viewers("tv") != 1 {
		t.Errorf("after the room reopened: %d live, %d joined, %d HLS viewers; want 1, 3, 1", live, joined, srv.Viewers("tv"))
	}
	srv.Close()
	if live, _ := aud.count(); live != 0 {
		t.Errorf("%d viewers still in the room after Close", live)
	}
}
