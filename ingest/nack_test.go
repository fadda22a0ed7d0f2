package ingest

import (
	"encoding/binary"
	"net/http"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/webrtc/v4"
)

// With 5% of the publisher's RTP packets lost on the way, the server's
// NACKs bring the video back: the stats count the NACKs and the room
// receives at least 99% of the sequence numbers, most of the dropped ones
// as retransmissions.
func TestNACKRecoversLoss(t *testing.T) {
	h := newHarness(t)
	relay := newLossyRelay(t, h.srv.MediaPort(), 0.05)
	pub := newTestPublisher(t)
	offer := withoutCandidates(offerOf(t, pub.pc))
	resp, body := h.do(t, http.MethodPost, "/rooms/lossy/whip", h.token(t, "lossy", auth.RolePublish), "application/sdp", []byte(offer))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	pub.location = resp.Header.Get("Location")
	if err := pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer,
		SDP: throughRelay(string(body), relay.port())}); err != nil {
		t.Fatal(err)
	}
	pub.send(t)
	sink := firstSink(t, h, media.Video)
	if c := pub.selectedRemote(t); int(c.Port) != relay.port() {
		t.Fatalf("publisher talks to %s:%d, not through the relay on %d", c.Address, c.Port, relay.port())
	}
	waitFor(t, "300 video packets", 60*time.Second, func() bool {
		n, _ := sink.counts()
		return n >= 300
	})
	var st StreamStats
	waitFor(t, "NACKs in the stats", 20*time.Second, func() bool {
		st = streamOf(sessionOf(h.srv.RoomSessions("lossy"), KindPublisher), "video")
		return st.NACKsSent > 0
	})
	time.Sleep(time.Second) // time for the last retransmissions
	dropped := relay.droppedSeqs(sink.info.SSRC)

	sink.mu.Lock()
	seen := map[uint16]bool{}
	var seqs []uint16
	for _, p := range sink.packets {
		s := binary.BigEndian.Uint16(p[2:4])
		if !seen[s] {
			seqs = append(seqs, s)
		}
		seen[s] = true
	}
	sink.mu.Unlock()
	// Count over the span the receiver had time to recover: from the first
	// packet to 50 before the last, in unwrapped sequence numbers.
	first := seqs[0]
	var last uint16
	for _, s := range seqs {
		if int16(s-first) >= 0 && int16(s-last) > 0 {
			last = s
		}
	}
	span := int(uint16(last-first)) + 1 - 50
	if span < 200 {
		t.Fatalf("only %d sequence numbers to check", span)
	}
	got, lost, recovered := 0, 0, 0
	for i := 0; i < span; i++ {
		s := first + uint16(i)
		if seen[s] {
			got++
		}
		if dropped[s] {
			lost++
			if seen[s] {
				recovered++
			}
		}
	}
	t.Logf("%d of %d sequence numbers, %d dropped by the relay, %d of them retransmitted; stats %+v",
		got, span, lost, recovered, st)
	if float64(got) < 0.99*float64(span) {
		t.Errorf("room got %d of %d sequence numbers (< 99%%)", got, span)
	}
	if lost < span/50 {
		t.Errorf("relay dropped only %d of %d video packets", lost, span)
	}
	if recovered < lost*9/10 {
		t.Errorf("only %d of %d dropped packets were retransmitted", recovered, lost)
	}
	if st.NACKsSent == 0 {
		t.Error("no NACKs counted")
	}
}
