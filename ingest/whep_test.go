package ingest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
)

// testViewer is a pion WHEP client that writes the H264 it receives to an
// Annex-B file.
type testViewer struct {
	pc        *webrtc.PeerConnection
	file      string
	mu        sync.Mutex
	w         *h264writer.H264Writer
	packets   atomic.Int32
	keyframe  atomic.Bool
	firstKey  atomic.Bool // the first video packet starts a keyframe
	audio     atomic.Int32
	videoSSRC atomic.Uint32
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newTestViewer(t *testing.T) *testViewer {
	t.Helper()
	pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &testViewer{pc: pc, file: filepath.Join(t.TempDir(), "view.h264")}
	t.Cleanup(v.close)
	f, err := os.Create(v.file)
	if err != nil {
		t.Fatal(err)
	}
	v.w = h264writer.NewWith(f)
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.wg.Add(1)
		defer v.wg.Done()
		video := tr.Kind() == webrtc.RTPCodecTypeVideo
		if video {
			v.videoSSRC.Store(uint32(tr.SSRC()))
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if !video {
				v.audio.Add(1)
				continue
			}
			if isH264Keyframe(p) {
				v.keyframe.Store(true)
				if v.packets.Load() == 0 {
					v.firstKey.Store(true)
				}
			}
			v.packets.Add(1)
			v.mu.Lock()
			if v.w != nil {
				_ = v.w.WriteRTP(p)
			}
			v.mu.Unlock()
		}
	})
	return v
}

// isH264Keyframe spots SPS or IDR in a packet (single NAL, STAP-A, FU-A).
func isH264Keyframe(p *rtp.Packet) bool {
	if len(p.Payload) < 2 {
		return false
	}
	switch typ := p.Payload[0] & 0x1f; typ {
	case 5, 7:
		return true
	case 24:
		return len(p.Payload) > 3 && (p.Payload[3]&0x1f == 7 || p.Payload[3]&0x1f == 5)
	case 28:
		return p.Payload[1]&0x1f == 5
	}
	return false
}

func (v *testViewer) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.w != nil {
		_ = v.w.Close()
		v.w = nil
	}
}

func (v *testViewer) close() {
	v.closeOnce.Do(func() {
		_ = v.pc.Close()
		v.wg.Wait()
		v.finish()
	})
}

func (v *testViewer) watch(t *testing.T, h *harness, room, token string) (location string) {
	t.Helper()
	offer := offerOf(t, v.pc)
	resp, body := h.do(t, http.MethodPost, "/rooms/"+room+"/whep", token, "application/sdp", []byte(offer))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("watch: status %d: %s", resp.StatusCode, body)
	}
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	return resp.Header.Get("Location")
}

// A WHEP viewer receives the live composite as decodable H264 starting at a
// keyframe, the viewer's PLI becomes a keyframe request, and DELETE makes
// the viewer leave.
func TestViewerReceivesDecodableH264(t *testing.T) {
	h := newHarness(t)
	live := h.rooms.addLive(t, "stage")
	v := newTestViewer(t)
	loc := v.watch(t, h, "stage", h.token(t, "stage", auth.RoleView))
	if !strings.HasPrefix(loc, "/rooms/stage/whep/") {
		t.Fatalf("Location %q", loc)
	}
	if n := h.srv.Viewers("stage"); n != 1 {
		t.Errorf("Viewers(stage) = %d, want 1", n)
	}
	waitFor(t, "a keyframe request when the viewer connects", 20*time.Second, func() bool {
		k, _ := live.stats()
		return k >= 1
	})
	waitFor(t, "90 video packets, a keyframe and audio", 30*time.Second, func() bool {
		return v.packets.Load() > 90 && v.keyframe.Load() && v.audio.Load() > 10
	})
	if !v.firstKey.Load() {
		t.Error("video did not start with a keyframe")
	}
	time.Sleep(600 * time.Millisecond) // past the keyframe rate limit
	before, _ := live.stats()
	if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.videoSSRC.Load()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the viewer's PLI upstream", 10*time.Second, func() bool {
		k, _ := live.stats()
		return k > before
	})
	// Two seconds of video at least.
	waitFor(t, "two seconds of video", 30*time.Second, func() bool { return v.packets.Load() > 200 })

	resp, body := h.do(t, http.MethodDelete, loc, "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	if _, left := live.stats(); left != 1 {
		t.Errorf("Live.Leave called %d times, want 1", left)
	}
	if n := h.srv.Viewers("stage"); n != 0 {
		t.Errorf("Viewers(stage) after DELETE = %d", n)
	}
	v.close()

	streams := probe(t, v.file)
	if len(streams) != 1 || streams[0].CodecName != "h264" {
		t.Fatalf("received streams %+v", streams)
	}
	if n := atoiOr0(streams[0].ReadFrames); n < 45 {
		t.Errorf("received video decodes to %d frames, want at least 45", n)
	}
	t.Logf("viewer decoded %s frames from %d packets", streams[0].ReadFrames, v.packets.Load())
	if w, hh := frameSize(t, v.file); w != 320 || hh != 240 {
		t.Errorf("frames are %dx%d, want 320x240", w, hh)
	}
}
