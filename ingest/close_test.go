package ingest

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Close ends every session (sinks closed, Leave called, viewers gone),
// refuses new ones and frees the media port.
func TestCloseEndsSessions(t *testing.T) {
	h := newHarness(t)
	live := h.rooms.addLive(t, "lobby")
	p := newTestPublisher(t)
	p.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	p.send(t)
	sink := firstSink(t, h, media.Video)
	v := newTestViewer(t)
	v.watch(t, h, "lobby", h.token(t, "lobby", auth.RoleView))
	waitFor(t, "viewer media", 20*time.Second, func() bool { return v.packets.Load() > 10 })
	port := h.srv.MediaPort()

	if err := h.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-h.rooms.left:
	case <-time.After(5 * time.Second):
		t.Fatal("publisher did not leave on Close")
	}
	select {
	case <-sink.closed:
	default:
		t.Error("sink not closed")
	}
	if _, left := live.stats(); left != 1 {
		t.Errorf("viewer left %d times", left)
	}
	if st := h.srv.Sessions(); len(st) != 0 {
		t.Errorf("sessions after Close: %+v", st)
	}
	resp, body := h.do(t, http.MethodPost, "/rooms/lobby/whip", h.token(t, "lobby", auth.RolePublish),
		"application/sdp", []byte(clientOffer(t)))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("publish after Close: %d %s", resp.StatusCode, body)
	}
	jsonError(t, resp, body)

	again, err := New(Config{MediaPort: port, Issuer: h.issuer, Rooms: h.rooms,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("media port %d not freed: %v", port, err)
	}
	if again.MediaPort() != port {
		t.Errorf("MediaPort %d, want %d", again.MediaPort(), port)
	}
	if err := again.Close(); err != nil {
		t.Error(err)
	}
}

// PublicIPs replace the host candidates; without them loopback is offered.
func TestCandidates(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(t, http.MethodPost, "/rooms/lobby/whip", h.token(t, "lobby", auth.RolePublish),
		"application/sdp", []byte(clientOffer(t)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	if !hasCandidate(string(body), "127.0.0.1", h.srv.MediaPort(), "udp") ||
		!hasCandidate(string(body), "127.0.0.1", h.srv.MediaPort(), "tcp") {
		t.Errorf("answer lacks loopback udp and tcp candidates on port %d:\n%s", h.srv.MediaPort(), body)
	}

	nat, err := New(Config{PublicIPs: []string{"203.0.113.7"}, Issuer: h.issuer, Rooms: h.rooms,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer nat.Close()
	mux := http.NewServeMux()
	nat.Routes(mux)
	h2 := &harness{srv: nat, http: newHTTPServer(t, mux), issuer: h.issuer, rooms: h.rooms}
	resp, body = h2.do(t, http.MethodPost, "/rooms/lobby/whip", h.token(t, "lobby", auth.RolePublish),
		"application/sdp", []byte(clientOffer(t)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	if !hasCandidate(string(body), "203.0.113.7", nat.MediaPort(), "udp") || strings.Contains(string(body), " 127.0.0.1 ") {
		t.Errorf("answer with PublicIPs:\n%s", body)
	}
}

func hasCandidate(sdp, ip string, port int, proto string) bool {
	for _, l := range strings.Split(sdp, "\n") {
		f := strings.Fields(l)
		if strings.HasPrefix(l, "a=candidate:") && len(f) > 5 && strings.EqualFold(f[2], proto) &&
			f[4] == ip && f[5] == itoa(port) {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// A track the room refuses is read and dropped; the rest of the session
// goes on, and a DELETE with a foreign token is refused.
func TestRefusedTrack(t *testing.T) {
	h := newHarness(t)
	h.rooms.refuse[media.Video] = true
	p := newTestPublisher(t)
	p.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	p.send(t)
	growing(t, firstSink(t, h, media.Audio), "audio beside a refused video track")
	waitFor(t, "packets counted", 10*time.Second, func() bool {
		st := h.srv.Sessions()
		return len(st) == 1 && st[0].Tracks == 1
	})
	resp, body := h.do(t, http.MethodDelete, p.location, h.token(t, "lobby", auth.RoleView), "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE with a view token: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do(t, http.MethodDelete, p.location, h.token(t, "lobby", auth.RolePublish), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	select {
	case <-h.rooms.left:
	case <-time.After(5 * time.Second):
		t.Fatal("no Leave")
	}
}
