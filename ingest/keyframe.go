package ingest

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the least time between two keyframe requests for one
// track or one viewer.
const keyframeInterval = 500 * time.Millisecond

// limiter lets one event through per interval.
type limiter struct {
	mu    sync.Mutex
	last  time.Time
	every time.Duration
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		return false
	}
	l.last = now
	return true
}

// keyframeRequester sends a PLI for one published track's SSRC.
type keyframeRequester struct {
	pc    *webrtc.PeerConnection
	ssrc  uint32
	video bool
	lim   limiter
}

func newKeyframeRequester(pc *webrtc.PeerConnection, ssrc uint32, video bool) *keyframeRequester {
	return &keyframeRequester{pc: pc, ssrc: ssrc, video: video, lim: limiter{every: keyframeInterval}}
}

// request asks the publisher for a keyframe; safe from any goroutine and
// after the session ended (then it does nothing useful).
func (k *keyframeRequester) request() {
	if !k.video || !k.lim.allow() {
		return
	}
	_ = k.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: k.ssrc}})
}
