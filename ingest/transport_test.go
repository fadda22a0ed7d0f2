package ingest

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// firstSink waits for the next unclaimed track of kind to reach the room.
func firstSink(t *testing.T, h *harness, kind media.Kind) *testSink {
	t.Helper()
	var found *testSink
	waitFor(t, fmt.Sprintf("a %s track in the room", kind), 20*time.Second, func() bool {
		h.rooms.mu.Lock()
		defer h.rooms.mu.Unlock()
		for _, s := range h.rooms.sinks {
			if s.info.Kind == kind && !s.claimed {
				s.claimed = true
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func growing(t *testing.T, s *testSink, what string) {
	t.Helper()
	n, _ := s.counts()
	waitFor(t, what, 20*time.Second, func() bool {
		m, _ := s.counts()
		return m > n+30
	})
}

// Two publishers share the one media port, and the port survives garbage.
func TestOneMediaPortSurvivesGarbage(t *testing.T) {
	h := newHarness(t)
	var sinks []*testSink
	var pubs []*testPublisher
	for i := range 2 {
		p := newTestPublisher(t)
		pubs = append(pubs, p)
		p.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
		p.send(t)
		sinks = append(sinks, firstSink(t, h, media.Video))
		if c := p.selectedRemote(t); int(c.Port) != h.srv.MediaPort() || c.Protocol != webrtc.ICEProtocolUDP {
			t.Errorf("publisher %d uses server candidate %s:%d/%s, want port %d/udp", i, c.Address, c.Port, c.Protocol, h.srv.MediaPort())
		}
	}
	conn, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", h.srv.MediaPort()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	for i := range 2000 {
		n := 1 + i%len(buf)
		_, _ = rand.Read(buf[:n])
		// First bytes in the STUN, DTLS and RTP ranges the mux demultiplexes on.
		buf[0] = []byte{0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xff}[i%7]
		_, _ = conn.Write(buf[:n])
	}
	// Garbage inside the secure session: RTCP that does not parse.
	for i := range 300 {
		raw := make([]byte, 8+i%64)
		_, _ = rand.Read(raw)
		raw[0] = 0x80 | raw[0]&0x1f
		_ = pubs[0].pc.WriteRTCP([]rtcp.Packet{(*rtcp.RawPacket)(&raw)})
	}
	for i, s := range sinks {
		growing(t, s, fmt.Sprintf("publisher %d still flowing after garbage", i))
	}
	resp, body := h.do(t, http.MethodPost, "/rooms/lobby/whip", h.token(t, "lobby", auth.RolePublish),
		"application/sdp", []byte(clientOffer(t)))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("publish after garbage: %d %s", resp.StatusCode, body)
	}
}

// A publisher with only TCP candidates connects through ICE-TCP on the
// media port.
func TestICETCP(t *testing.T) {
	h := newHarness(t)
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	p := newTestPublisherOn(t, webrtc.NewAPI(webrtc.WithSettingEngine(se)), webrtc.MimeTypeVP8)
	p.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	p.send(t)
	s := firstSink(t, h, media.Video)
	growing(t, s, "video over ICE-TCP")
	if c := p.selectedRemote(t); c.Protocol != webrtc.ICEProtocolTCP || int(c.Port) != h.srv.MediaPort() {
		t.Errorf("server candidate %s:%d/%s, want tcp port %d", c.Address, c.Port, c.Protocol, h.srv.MediaPort())
	}
}

// A client that trickles its candidates by PATCH connects.
func TestTrickleCandidates(t *testing.T) {
	h := newHarness(t)
	p := newTestPublisher(t)
	cands := make(chan *webrtc.ICECandidate, 32)
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) { cands <- c })
	off, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(off); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(off.SDP, "a=candidate") {
		t.Fatal("offer already has candidates")
	}
	resp, body := h.do(t, http.MethodPost, "/rooms/lobby/whip", h.token(t, "lobby", auth.RolePublish), "application/sdp", []byte(off.SDP))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	ufrag := ufragOfOffer(t, []byte(off.SDP))
	sent := 0
	for done := false; !done; {
		select {
		case c := <-cands:
			frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwdOf(off.SDP) + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
			if c == nil {
				frag += "a=end-of-candidates\r\n"
				done = true
			} else {
				frag += "a=" + c.ToJSON().Candidate + "\r\n"
				sent++
			}
			resp, body := h.do(t, http.MethodPatch, loc, "", "application/trickle-ice-sdpfrag", []byte(frag), "If-Match", etag)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("client gathering did not finish")
		}
	}
	if sent == 0 {
		t.Fatal("no candidate trickled")
	}
	p.send(t)
	growing(t, firstSink(t, h, media.Video), "video after trickle")
}

// PATCH with new ICE credentials restarts ICE: the answer fragment carries
// new credentials and candidates, the ETag changes and media keeps flowing.
func TestICERestart(t *testing.T) {
	h := newHarness(t)
	p := newTestPublisher(t)
	resp := p.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	oldAnswer := ""
	if ld := p.pc.RemoteDescription(); ld != nil {
		oldAnswer = ld.SDP
	}
	p.send(t)
	s := firstSink(t, h, media.Video)
	growing(t, s, "video before restart")

	off, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(off); err != nil {
		t.Fatal(err)
	}
	<-g
	local := p.pc.LocalDescription().SDP
	frag := "a=ice-ufrag:" + ufragOfOffer(t, []byte(local)) + "\r\na=ice-pwd:" + pwdOf(local) + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	for _, l := range strings.Split(local, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "a=candidate:") {
			frag += l + "\r\n"
		}
	}
	r2, body := h.do(t, http.MethodPatch, p.location, "", "application/trickle-ice-sdpfrag", []byte(frag), "If-Match", p.etag)
	if r2.StatusCode != http.StatusOK || r2.Header.Get("Content-Type") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("restart PATCH: %d %s", r2.StatusCode, body)
	}
	if e := r2.Header.Get("ETag"); e == "" || e == resp.Header.Get("ETag") {
		t.Errorf("ETag after restart %q (was %q)", e, resp.Header.Get("ETag"))
	}
	newUfrag := ufragOfOffer(t, body)
	if newUfrag == ufragOfOffer(t, []byte(oldAnswer)) || !strings.Contains(string(body), "a=candidate:") {
		t.Fatalf("restart answer fragment %q", body)
	}
	// The new answer: the old one with the fragment's credentials and candidates.
	ans := replaceICECredentials(oldAnswer, newUfrag, pwdOf(string(body)))
	var cl []string
	for _, l := range strings.Split(string(body), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "a=candidate:") {
			cl = append(cl, l)
		}
	}
	ans = strings.Replace(ans, "a=mid:0\r\n", "a=mid:0\r\n"+strings.Join(cl, "\r\n")+"\r\n", 1)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatalf("apply restart answer: %v", err)
	}
	growing(t, s, "video after restart")
	// The old ETag no longer matches.
	r3, b3 := h.do(t, http.MethodPatch, p.location, "", "application/trickle-ice-sdpfrag", []byte("a=end-of-candidates\r\n"), "If-Match", p.etag)
	if r3.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PATCH with the old ETag: %d %s", r3.StatusCode, b3)
	}
}

func pwdOf(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-pwd:"); ok {
			return v
		}
	}
	return ""
}
