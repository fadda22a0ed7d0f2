package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// benchPeer is one WHIP or WHEP peer of the latency bench.
type benchPeer struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
}

// dialPeer negotiates pc with a WHIP/WHEP endpoint (non-trickle) and waits
// until it is connected.
func dialPeer(ctx context.Context, pc *webrtc.PeerConnection, endpoint, token string) (*benchPeer, error) {
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d %s", endpoint, res.StatusCode, strings.TrimSpace(string(body)))
	}
	loc := res.Header.Get("Location")
	if u, err := url.Parse(endpoint); err == nil {
		if l, err := u.Parse(loc); err == nil {
			loc = l.String()
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return nil, err
	}
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("%s: not connected after 20 s", endpoint)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &benchPeer{pc: pc, location: loc, token: token}, nil
}

func (p *benchPeer) close() {
	if p == nil {
		return
	}
	req, _ := http.NewRequest("DELETE", p.location, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	if res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
		res.Body.Close()
	}
	_ = p.pc.Close()
}

// publishStamps sends the time-stamped picture (VP8, 30 fps) until ctx ends.
func publishStamps(ctx context.Context, endpoint, token string, epoch time.Time, noise *atomic.Bool) (*benchPeer, <-chan error, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"video", "bench-latency")
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	snd, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	enc, err := newGstChain("stamp-encoder",
		fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=30/1", stampW, stampH), "",
		[2]any{"vp8enc", map[string]string{"deadline": "1", "cpu-used": "8", "lag-in-frames": "0",
			"keyframe-max-dist": "60", "target-bitrate": "1500000", "end-usage": "cbr"}})
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	// A keyframe whenever the server asks (PLI) is more than a bench
	// needs: keyframes come every 2 s anyway.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := snd.Read(buf); err != nil {
				return
			}
		}
	}()
	peer, err := dialPeer(ctx, pc, endpoint, token)
	if err != nil {
		enc.close()
		_ = pc.Close()
		return nil, nil, err
	}
	errc := make(chan error, 1)
	go func() { // encoder output → track
		for {
			b := enc.pull(time.Second)
			if b == nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			_ = track.WriteSample(pmedia.Sample{Data: b, Duration: time.Second / 30})
		}
	}()
	go func() { // frames in real time
		defer enc.close()
		frame := make([]byte, stampW*stampH*3/2)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case <-tick.C:
				since := time.Since(epoch)
				drawStamp(frame, stampCode(since), noise.Load())
				if err := enc.push(append([]byte(nil), frame...), since); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	return peer, errc, nil
}

// latencyViewer decodes the composite and reads the stamps back.
type latencyViewer struct {
	peer  *benchPeer
	mu    sync.Mutex
	delay []time.Duration
	bytes atomic.Int64
}

const readW, readH = 320, 180

func viewStamps(ctx context.Context, endpoint, token string, epoch time.Time) (*latencyViewer, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return nil, err
	}
	dec, err := newGstChain("stamp-decoder", "video/x-h264,stream-format=byte-stream,alignment=au",
		fmt.Sprintf("video/x-raw,format=GRAY8,width=%d,height=%d", readW, readH),
		[2]any{"h264parse", nil}, [2]any{"avdec_h264", nil}, [2]any{"videoconvert", nil}, [2]any{"videoscale", nil})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	v := &latencyViewer{}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		sb := samplebuilder.New(512, &codecs.H264Packet{}, t.Codec().ClockRate)
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			v.bytes.Add(int64(len(pkt.Payload)))
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				_ = dec.push(s.Data, time.Since(epoch))
			}
		}
	})
	go func() {
		defer dec.close()
		for ctx.Err() == nil {
			b := dec.pull(500 * time.Millisecond)
			if len(b) < readW*readH {
				continue
			}
			now := stampCode(time.Since(epoch))
			code, ok := readStamp(b, readW, readH)
			if age := stampAge(now, code); ok && age < 30*time.Second {
				v.mu.Lock()
				v.delay = append(v.delay, age)
				v.mu.Unlock()
			}
		}
	}()
	if v.peer, err = dialPeer(ctx, pc, endpoint, token); err != nil {
		_ = pc.Close()
		return nil, err
	}
	return v, nil
}

func (v *latencyViewer) delays() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Duration(nil), v.delay...)
}

// loadViewer is a WHEP viewer that reads (and drops) what it receives:
// the server's cost of one more viewer.
func loadViewer(ctx context.Context, endpoint, token string, bytes *atomic.Int64) (*benchPeer, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			bytes.Add(int64(n))
		}
	})
	p, err := dialPeer(ctx, pc, endpoint, token)
	if err != nil {
		_ = pc.Close()
	}
	return p, err
}
