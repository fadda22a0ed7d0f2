package ingest

import (
	"net/http"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"go.uber.org/goleak"
)

// Ending a publisher and a viewer session leaves no goroutine behind, and
// neither does closing the server.
func TestTeardownLeaksNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, before)
	})
	h := newHarness(t)
	live := h.rooms.addLive(t, "lobby")
	h.http.Client().CloseIdleConnections()
	serverUp := goleak.IgnoreCurrent()

	pub := newTestPublisher(t)
	pub.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	pub.send(t)
	view := newTestViewer(t)
	loc := view.watch(t, h, "lobby", h.token(t, "lobby", auth.RoleView))
	waitFor(t, "media both ways", 30*time.Second, func() bool {
		n := 0
		for _, st := range h.srv.Sessions() {
			if st.Packets > 30 {
				n++
			}
		}
		return n == 2
	})
	for _, l := range []string{pub.location, loc} {
		if resp, body := h.do(t, http.MethodDelete, l, "", "", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", l, resp.StatusCode, body)
		}
	}
	if _, left := live.stats(); left != 1 {
		t.Errorf("viewer left %d times", left)
	}
	pub.close()
	view.close()
	http.DefaultClient.CloseIdleConnections()
	if err := goleak.Find(serverUp); err != nil {
		t.Errorf("goroutines left after the sessions ended: %v", err)
	}
}
