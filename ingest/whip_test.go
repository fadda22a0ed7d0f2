package ingest

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
)

// A pion publisher's VP8 and Opus reach the room's sinks with their sender
// reports, a keyframe request reaches the publisher, and DELETE ends the
// session: sinks closed, Leave called, resource gone.
func TestPublishVP8OpusReachesSinks(t *testing.T) {
	h := newHarness(t)
	pub := newTestPublisher(t)
	resp := pub.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer content type %q", ct)
	}
	if !strings.HasPrefix(pub.location, "/rooms/lobby/whip/") || pub.etag == "" {
		t.Fatalf("Location %q ETag %q", pub.location, pub.etag)
	}
	if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Location") || !strings.Contains(got, "ETag") {
		t.Errorf("Access-Control-Expose-Headers %q", got)
	}
	sessionID := path.Base(pub.location)
	pub.send(t)

	sinks := map[media.Kind]*testSink{media.Video: firstSink(t, h, media.Video), media.Audio: firstSink(t, h, media.Audio)}
	v, a := sinks[media.Video], sinks[media.Audio]
	if v.info.MimeType != "video/VP8" || a.info.MimeType != "audio/opus" {
		t.Errorf("mime types %q %q", v.info.MimeType, a.info.MimeType)
	}
	if v.info.Participant != sessionID || v.info.Room != "lobby" || v.info.Name != "alice" || v.info.SSRC == 0 {
		t.Errorf("video track info %+v (session %s)", v.info, sessionID)
	}
	if a.info.ClockRate != 48000 || v.info.ClockRate != 90000 {
		t.Errorf("clock rates audio %d video %d", a.info.ClockRate, v.info.ClockRate)
	}

	// Sender reports come about once a second.
	waitFor(t, "packets and sender reports on both tracks", 20*time.Second, func() bool {
		vp, vsr := v.counts()
		ap, asr := a.counts()
		return vp > 100 && ap > 50 && vsr > 0 && asr > 0
	})
	v.mu.Lock()
	sr := v.srs[0]
	v.mu.Unlock()
	if sr.SSRC != v.info.SSRC || sr.NTPTime == 0 || sr.Arrival.IsZero() {
		t.Errorf("video sender report %+v, track ssrc %d", sr, v.info.SSRC)
	}

	// A burst of keyframe requests from the room makes one PLI.
	for range 10 {
		v.requestKeyframe()
		a.requestKeyframe() // audio: no PLI
	}
	waitFor(t, "PLI at the publisher", 10*time.Second, func() bool { return pub.plis.Load() > 0 })
	time.Sleep(200 * time.Millisecond)
	if n := pub.plis.Load(); n > 2 {
		t.Errorf("%d PLIs for a burst of 10 requests, want rate-limited", n)
	}
	if st := h.srv.Sessions(); len(st) != 1 || st[0].ID != sessionID || st[0].Kind != KindPublisher || st[0].Tracks != 2 || st[0].Packets == 0 {
		t.Errorf("sessions %+v", st)
	}

	resp, body := h.do(t, http.MethodDelete, pub.location, "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	select {
	case id := <-h.rooms.left:
		if id != sessionID {
			t.Errorf("Leave(%q), want %q", id, sessionID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Leave not called")
	}
	for _, s := range sinks {
		select {
		case <-s.closed:
		default:
			t.Errorf("%s sink not closed before Leave", s.info.Kind)
		}
	}
	if st := h.srv.Sessions(); len(st) != 0 {
		t.Errorf("sessions after DELETE: %+v", st)
	}
	resp, body = h.do(t, http.MethodDelete, pub.location, "", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d %s", resp.StatusCode, body)
	}
	jsonError(t, resp, body)

	// The forwarded VP8 decodes.
	ivf := filepath.Join(t.TempDir(), "forwarded.ivf")
	writeIVF(t, ivf, v)
	streams := probe(t, ivf)
	if len(streams) != 1 || streams[0].CodecName != "vp8" {
		t.Fatalf("forwarded video streams %+v", streams)
	}
	if w, h := frameSize(t, ivf); w != 320 || h != 240 {
		t.Errorf("forwarded video decodes to %dx%d, want 320x240", w, h)
	}
	if n := atoiOr0(streams[0].ReadFrames); n < 60 {
		t.Errorf("forwarded video decodes to %d frames, want at least 60", n)
	}
}

func writeIVF(t *testing.T, path string, s *testSink) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ivfwriter.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range s.packets {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil {
			t.Fatalf("sink got an unparsable RTP packet: %v", err)
		}
		if err := w.WriteRTP(&p); err != nil {
			t.Fatalf("ivf write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func atoiOr0(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// An H264 publisher's packets reach the sink and decode.
func TestPublishH264(t *testing.T) {
	h := newHarness(t)
	pub := newTestPublisherOn(t, clientAPI(), "video/H264")
	pub.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	pub.send(t)
	s := firstSink(t, h, media.Video)
	if s.info.MimeType != "video/H264" || s.info.ClockRate != 90000 {
		t.Errorf("track info %+v", s.info)
	}
	waitFor(t, "two seconds of H264", 30*time.Second, func() bool { n, _ := s.counts(); return n > 150 })
	pub.close()
	<-s.closed

	file := filepath.Join(t.TempDir(), "forwarded.h264")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := h264writer.NewWith(f)
	s.mu.Lock()
	for _, raw := range s.packets {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil {
			t.Fatalf("unparsable RTP: %v", err)
		}
		if err := w.WriteRTP(&p); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	streams := probe(t, file)
	if len(streams) != 1 || streams[0].CodecName != "h264" || atoiOr0(streams[0].ReadFrames) < 45 {
		t.Fatalf("forwarded H264 %+v", streams)
	}
	if w, hh := frameSize(t, file); w != 320 || hh != 240 {
		t.Errorf("frames %dx%d", w, hh)
	}
}
