package ingest

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// garbagePeer is a publisher whose tracks carry whatever the fuzzer gives:
// a simulcast VP8 track (layers q and h) and an Opus track, all written as
// raw RTP.
type garbagePeer struct {
	pc     *webrtc.PeerConnection
	layers map[string]*webrtc.TrackLocalStaticRTP
	audio  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	loc    string
	mu     sync.Mutex
	seq    map[string]uint16
	wg     sync.WaitGroup
}

func (g *garbagePeer) tags(ssrc uint32) (mid, rid string, ok bool) {
	g.mu.Lock()
	sender := g.sender
	g.mu.Unlock()
	if sender == nil {
		return "", "", false
	}
	for _, tr := range g.pc.GetTransceivers() {
		if tr.Sender() != sender || tr.Mid() == "" {
			continue
		}
		for _, e := range sender.GetParameters().Encodings {
			if uint32(e.SSRC) == ssrc {
				return tr.Mid(), e.RID, true
			}
		}
	}
	return "", "", false
}

// write sends payload as one RTP packet of a track (q, h or audio), with
// header bits from the fuzzer and the track's own next sequence number.
func (g *garbagePeer) write(track string, marker, padding bool, ts uint32, payload []byte) {
	tr := g.audio
	if l, ok := g.layers[track]; ok {
		tr = l
	}
	g.mu.Lock()
	g.seq[track]++
	seq := g.seq[track]
	g.mu.Unlock()
	hdr := rtp.Header{Version: 2, Marker: marker, SequenceNumber: seq, Timestamp: ts}
	if padding && len(payload) > 0 {
		// pion marshals padding only with its size set (a bare flag
		// overruns its buffer); the receiver sees the flag and the size.
		hdr.Padding, hdr.PaddingSize = true, 1+payload[0]%64
	}
	_ = tr.WriteRTP(&rtp.Packet{Header: hdr, Payload: payload})
}

// FuzzLiveSession feeds arbitrary RTP payloads and header bits, arbitrary
// RTCP (through SRTP, so the server decrypts and parses it) and arbitrary
// UDP datagrams to the media port, all at a connected publisher session:
// nothing crashes, the session keeps forwarding valid media afterwards, and
// ending it leaves no goroutine behind.
func FuzzLiveSession(f *testing.F) {
	h := newHarness(f)
	h.http.Client().CloseIdleConnections()
	serverUp := goleak.IgnoreCurrent()

	g := &garbagePeer{layers: map[string]*webrtc.TrackLocalStaticRTP{}, seq: map[string]uint16{}}
	api, _ := browserLikeAPI(f, g.tags)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	g.pc = pc
	for i, rid := range []string{"q", "h"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "fuzz",
			webrtc.WithRTPStreamID(rid))
		if err != nil {
			f.Fatal(err)
		}
		g.layers[rid] = tr
		if i == 0 {
			s, err := pc.AddTrack(tr)
			if err != nil {
				f.Fatal(err)
			}
			g.mu.Lock()
			g.sender = s
			g.mu.Unlock()
		} else if err := g.sender.AddEncoding(tr); err != nil {
			f.Fatal(err)
		}
	}
	if g.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "fuzz"); err != nil {
		f.Fatal(err)
	}
	as, err := pc.AddTrack(g.audio)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []*webrtc.RTPSender{g.sender, as} {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for {
				if _, _, err := s.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	offer := offerOf(f, pc)
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/rooms/fuzz/whip", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+h.token(f, "fuzz", auth.RolePublish))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		f.Fatal(err)
	}
	answer := string(body)
	if resp.StatusCode != http.StatusCreated {
		f.Fatalf("publish: %d %s", resp.StatusCode, answer)
	}
	g.loc = resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		f.Fatal(err)
	}
	// Valid media first, so that every track is announced.
	opus := []byte{0xf8, 0xff, 0xfe}
	deadline := time.Now().Add(20 * time.Second)
	for h.rooms.sinkCount() < 2 || h.srv.Sessions()[0].Packets < 20 {
		if time.Now().After(deadline) {
			f.Fatalf("tracks not announced: %d sinks", h.rooms.sinkCount())
		}
		g.write("audio", true, false, uint32(time.Now().UnixNano()/20833), opus)
		for _, rid := range []string{"q", "h"} {
			g.write(rid, true, false, uint32(time.Now().UnixNano()/11111), vp8Key(64, 48))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mediaPort := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: h.srv.MediaPort()}
	udp, err := net.DialUDP("udp4", nil, mediaPort)
	if err != nil {
		f.Fatal(err)
	}

	f.Cleanup(func() {
		// Still working: valid audio reaches the room after the garbage.
		h.rooms.mu.Lock()
		var sink *testSink
		for _, s := range h.rooms.sinks {
			if s.info.Kind == "audio" {
				sink = s
			}
		}
		h.rooms.mu.Unlock()
		if sink == nil {
			f.Error("no audio sink")
			return
		}
		n, _ := sink.counts()
		deadline := time.Now().Add(10 * time.Second)
		for m, _ := sink.counts(); m < n+10; m, _ = sink.counts() {
			if time.Now().After(deadline) {
				f.Errorf("session forwards no audio after the garbage (%d → %d packets)", n, m)
				break
			}
			g.write("audio", true, false, uint32(time.Now().UnixNano()/20833), opus)
			time.Sleep(20 * time.Millisecond)
		}
		_ = udp.Close()
		del, _ := http.NewRequest(http.MethodDelete, h.http.URL+g.loc, nil)
		if resp, err := http.DefaultClient.Do(del); err != nil || resp.StatusCode != http.StatusOK {
			f.Errorf("DELETE %s: %v %v", g.loc, resp, err)
		} else {
			resp.Body.Close()
		}
		_ = pc.Close()
		g.wg.Wait()
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(serverUp); err != nil {
			f.Errorf("goroutines left after the session ended: %v", err)
		}
	})

	f.Add(byte(0), []byte{0x90, 0x80, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00}) // VP8 keyframe start, tiny
	f.Add(byte(1), vp8Key(16383, 16383))
	f.Add(byte(0), []byte{0x10})
	f.Add(byte(4), []byte{0xff, 0xff, 0xff, 0xff})                                     // padded
	f.Add(byte(2), []byte{0xf8, 0xff, 0xfe})                                           // audio
	f.Add(byte(3), []byte{0x80, 0xc8, 0x00, 0x06, 1, 2, 3, 4})                         // truncated sender report
	f.Add(byte(3), []byte{0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}) // NACK for a foreign SSRC
	f.Add(byte(3), []byte{0x8f, 0xcd, 0xff, 0xff})                                     // TWCC claiming a huge length
	f.Add(byte(3), []byte{})
	f.Add(byte(5), []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}) // STUN header, truncated
	f.Add(byte(5), []byte{0x16, 0xfe, 0xfd, 0, 0, 0, 0})                   // DTLS record, truncated
	f.Add(byte(5), []byte{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})       // plain RTP
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		if len(data) > maxFuzzPacket {
			data = data[:maxFuzzPacket] // what fits a datagram on a real path
		}
		ts := uint32(time.Now().UnixNano() / 11111)
		switch mode % 6 {
		case 0:
			g.write("q", false, false, ts, data)
		case 1:
			g.write("h", true, false, ts, data)
		case 2:
			g.write("audio", len(data)%2 == 0, false, ts, data)
		case 3:
			raw := rtcp.RawPacket(data)
			_ = pc.WriteRTCP([]rtcp.Packet{&raw})
		case 4:
			g.write("q", true, true, ts, data)
		case 5:
			_, _ = udp.Write(data)
		}
		if n := len(h.srv.Sessions()); n != 1 {
			t.Fatalf("%d sessions: the garbage ended the publisher", n)
		}
	})
}

func (r *testRooms) sinkCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sinks)
}

// maxFuzzPacket bounds the fuzzer's payloads to what fits the path MTU.
const maxFuzzPacket = 1100

// vp8Key is the start of a VP8 keyframe of the given size behind a
// payload descriptor with S=1.
func vp8Key(w, h int) []byte {
	return []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8), 0, 0, 0, 0}
}
