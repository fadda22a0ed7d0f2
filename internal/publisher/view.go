package publisher

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// ViewStats is what a WHEP viewer received.
type ViewStats struct {
	VideoCodec   string // MIME type, e.g. "video/H264"
	VideoFrames  int    // complete frames out of the depacketizer
	Keyframes    int
	VideoBytes   int64
	AudioPackets int
	AudioBytes   int64
	SetupTime    time.Duration // POST until connected
	FirstFrame   time.Duration // connected until the first video frame (0: none)
}

// WHEPView plays the room at url (a WHEP endpoint) for d after connecting,
// counting video frames, keyframes and audio packets, then DELETEs the session.
// It asks for a keyframe (PLI) every second until one arrives.
func WHEPView(ctx context.Context, url, token string, d time.Duration) (ViewStats, error) {
	if url == "" || d <= 0 {
		return ViewStats{}, fmt.Errorf("%w: WHEP view needs a URL and a positive duration", ErrBadOptions)
	}
	pc, err := newPeerConnection(nil)
	if err != nil {
		return ViewStats{}, err
	}
	v := &viewer{pc: pc}
	defer v.close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return ViewStats{}, fmt.Errorf("add %s transceiver: %w", kind, err)
		}
	}
	pc.OnTrack(v.onTrack)
	watch := watchConnection(pc)

	const setupTimeout = 20 * time.Second
	began := time.Now()
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	client := &http.Client{Timeout: setupTimeout}
	defer client.CloseIdleConnections() // after the DELETE (defers run in reverse)
	sess, err := negotiate(setupCtx, pc, client, url, token)
	if err != nil {
		return ViewStats{}, err
	}
	defer func() { _ = sess.delete(ctx) }()
	if err := watch.wait(setupCtx, setupTimeout); err != nil {
		return ViewStats{}, fmt.Errorf("connect: %w", err)
	}
	v.connected.Store(time.Now().UnixNano())
	setup := time.Since(began)

	timer := time.NewTimer(d)
	defer timer.Stop()
	pli := time.NewTicker(time.Second)
	defer pli.Stop()
	var viewErr error
loop:
	for {
		select {
		case <-timer.C:
			break loop
		case <-ctx.Done():
			break loop
		case <-watch.failed:
			viewErr = ErrConnectionFailed
			break loop
		case <-pli.C:
			v.requestKeyframe()
		}
	}
	v.close() // ends the readers before the counters are read
	st := v.stats()
	st.SetupTime = setup
	return st, viewErr
}

// viewer counts what the tracks of one WHEP session deliver.
type viewer struct {
	pc        *webrtc.PeerConnection
	readers   sync.WaitGroup
	connected atomic.Int64 // unix nanos

	mu         sync.Mutex
	closed     bool // no more readers may start
	videoCodec string
	videoSSRC  uint32
	frames     int
	keyframes  int
	videoBytes int64
	audioPkts  int
	audioBytes int64
	firstFrame time.Duration
}

func (v *viewer) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.readers.Add(1)
	v.mu.Unlock()
	defer v.readers.Done()
	if t.Kind() == webrtc.RTPCodecTypeAudio {
		v.readAudio(t)
		return
	}
	v.readVideo(t)
}

// close stops new readers, closes the connection and waits for the readers.
func (v *viewer) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.readers.Wait()
}

func (v *viewer) readAudio(t *webrtc.TrackRemote) {
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		v.mu.Lock()
		v.audioPkts++
		v.audioBytes += int64(len(p.Payload))
		v.mu.Unlock()
	}
}

func (v *viewer) readVideo(t *webrtc.TrackRemote) {
	mime := t.Codec().MimeType
	v.mu.Lock()
	v.videoCodec, v.videoSSRC = mime, uint32(t.SSRC())
	v.mu.Unlock()
	var depacketizer rtp.Depacketizer
	var isKey func([]byte) bool
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		depacketizer, isKey = &codecs.H264Packet{}, h264Keyframe
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		depacketizer, isKey = &codecs.VP8Packet{}, vp8Keyframe
	}
	v.requestKeyframe()
	var sb *samplebuilder.SampleBuilder
	if depacketizer != nil {
		sb = samplebuilder.New(256, depacketizer, t.Codec().ClockRate)
	}
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if sb == nil { // unknown codec: count frames by the marker bit
			if p.Marker {
				v.addFrame(p.Payload, false)
			}
			continue
		}
		sb.Push(p)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			v.addFrame(s.Data, isKey(s.Data))
		}
	}
}

func (v *viewer) addFrame(data []byte, key bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.frames == 0 {
		if c := v.connected.Load(); c != 0 {
			v.firstFrame = time.Since(time.Unix(0, c))
		}
	}
	v.frames++
	v.videoBytes += int64(len(data))
	if key {
		v.keyframes++
	}
}

// requestKeyframe sends a PLI until the first keyframe arrived.
func (v *viewer) requestKeyframe() {
	v.mu.Lock()
	ssrc, have := v.videoSSRC, v.keyframes > 0
	v.mu.Unlock()
	if ssrc == 0 || have {
		return
	}
	_ = v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

func (v *viewer) stats() ViewStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return ViewStats{
		VideoCodec: v.videoCodec, VideoFrames: v.frames, Keyframes: v.keyframes, VideoBytes: v.videoBytes,
		AudioPackets: v.audioPkts, AudioBytes: v.audioBytes, FirstFrame: v.firstFrame,
	}
}

// h264Keyframe reports whether an Annex-B access unit holds an IDR slice.
func h264Keyframe(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if au[i+3]&0x1F == 5 {
				return true
			}
			i += 2
		}
	}
	return false
}
