package publisher

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// newPeerConnection builds a PeerConnection with the default codecs and the
// default interceptors (NACK, RTCP sender/receiver reports, stats, TWCC).
// Sender reports are what the server uses to line up audio and video.
func newPeerConnection(iceServers []webrtc.ICEServer, extra ...interceptor.Factory) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	for _, f := range extra {
		ir.Add(f)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	return pc, nil
}

// connWatch turns PeerConnection state callbacks into channels.
type connWatch struct {
	connected chan struct{} // closed once the connection is up
	failed    chan struct{} // closed once it failed or closed
	once      [2]sync.Once
}

func watchConnection(pc *webrtc.PeerConnection) *connWatch {
	w := &connWatch{connected: make(chan struct{}), failed: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			w.once[0].Do(func() { close(w.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			w.once[1].Do(func() { close(w.failed) })
		}
	})
	return w
}

// wait blocks until the connection is up, failed, timed out or ctx ended.
func (w *connWatch) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.connected:
		return nil
	case <-w.failed:
		return ErrConnectionFailed
	case <-t.C:
		return fmt.Errorf("%w (%s)", ErrConnectTimeout, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// negotiate creates the offer, waits for ICE gathering (no trickle), POSTs it
// and applies the answer. On success the caller owns the session and must
// delete it.
// The answer must accept every codec in sent.
func negotiate(ctx context.Context, pc *webrtc.PeerConnection, client *http.Client, endpoint, token string, sent ...webrtc.RTPCodecCapability) (*session, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	answer, sess, err := postOffer(ctx, client, endpoint, token, pc.LocalDescription().SDP)
	if err != nil {
		return nil, err
	}
	if err := checkAccepted(answer, sent...); err != nil {
		_ = sess.delete(ctx)
		return nil, err
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}
	if err := pc.SetRemoteDescription(desc); err != nil {
		_ = sess.delete(ctx)
		return nil, fmt.Errorf("%w: set answer: %w", ErrBadAnswer, err)
	}
	return sess, nil
}
