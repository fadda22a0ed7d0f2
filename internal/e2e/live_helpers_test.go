package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// whepPeer is a pion WHEP viewer. With a file it writes the H264 access
// units it assembles (Annex B), so the test can decode what it received;
// with stall set it never reads its tracks at all.
type whepPeer struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
	out      *os.File

	mu     sync.Mutex
	frames int
	keys   int
	first  time.Time
	last   time.Time
	maxGap time.Duration
	done   sync.WaitGroup
}

func dialWHEP(ctx context.Context, url, token, file string, stall bool) (*whepPeer, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &whepPeer{pc: pc, token: token}
	if file != "" {
		if p.out, err = os.Create(file); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.close()
			return nil, err
		}
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if stall {
			return // never read: pion's buffer fills and drops
		}
		p.done.Add(1)
		defer p.done.Done()
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			for {
				if _, _, err := t.ReadRTP(); err != nil {
					return
				}
			}
		}
		p.readVideo(t)
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		p.close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		p.close()
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		p.close()
		return nil, ctx.Err()
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.close()
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		p.close()
		return nil, fmt.Errorf("WHEP POST: %d %s", res.StatusCode, body)
	}
	p.location = res.Header.Get("Location")
	if !strings.HasPrefix(p.location, "http") {
		p.location = strings.SplitN(url, "/rooms/", 2)[0] + p.location
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		p.close()
		return nil, err
	}
	select {
	case <-connected:
	case <-ctx.Done():
		p.close()
		return nil, fmt.Errorf("WHEP connect: %w", ctx.Err())
	}
	return p, nil
}

func (p *whepPeer) readVideo(t *webrtc.TrackRemote) {
	sb := samplebuilder.New(512, &codecs.H264Packet{}, t.Codec().ClockRate)
	pli := time.NewTicker(time.Second)
	defer pli.Stop()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		select {
		case <-pli.C:
			p.mu.Lock()
			need := p.keys == 0
			p.mu.Unlock()
			if need {
				_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
			}
		default:
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			p.frame(s.Data)
		}
	}
}

func (p *whepPeer) frame(au []byte) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	key := isIDR(au)
	if p.keys == 0 && !key {
		return // decodable from the first keyframe on
	}
	if key {
		p.keys++
	}
	if !p.last.IsZero() && now.Sub(p.last) > p.maxGap {
		p.maxGap = now.Sub(p.last)
	}
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	p.frames++
	if p.out != nil {
		_, _ = p.out.Write(au)
	}
}

type peerStats struct {
	frames, keys int
	maxGap       time.Duration
	first        time.Time
}

func (p *whepPeer) stats() peerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return peerStats{frames: p.frames, keys: p.keys, maxGap: p.maxGap, first: p.first}
}

// close DELETEs the session and closes the peer and the file.
func (p *whepPeer) close() {
	if p.location != "" {
		req, _ := http.NewRequest("DELETE", p.location, nil)
		req.Header.Set("Authorization", "Bearer "+p.token)
		if res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
			res.Body.Close()
		}
	}
	_ = p.pc.Close()
	p.done.Wait()
	if p.out != nil {
		_ = p.out.Close()
	}
}

func isIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if au[i+3]&0x1f == 5 {
				return true
			}
			i += 2
		}
	}
	return false
}

// publishLoop publishes a reference clip in a loop into room until the test ends.
func (s *server) publishLoop(t *testing.T, room, clip string) {
	t.Helper()
	testenv.Run(t, nil, s.bin, "publish", "--url", s.base+"/rooms/"+room+"/whip", "--token", s.token(room, "publish"),
		"--file", clip, "--loop")
	s.waitRoom(t, room, 30*time.Second)
}

// waitRoom waits until the room has a participant.
func (s *server) waitRoom(t *testing.T, room string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var info struct {
			Participants []any `json:"participants"`
		}
		if code := s.call("GET", "/api/rooms/"+room, s.admin, nil, &info); code == 200 && len(info.Participants) > 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("room %s has no participant after %s", room, timeout)
}
