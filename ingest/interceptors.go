package ingest

import (
	"fmt"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// interceptors registers what pion's defaults register — NACK generator
// and responder, RTCP reports, simulcast header extensions, TWCC feedback
// — with the stats interceptor first in the chain, so that it sees the
// NACKs and PLIs the later interceptors write and every packet on the
// wire, and with its per-PeerConnection getter kept for SessionStats.
func (t *transport) interceptors(me *webrtc.MediaEngine) (*interceptor.Registry, error) {
	reg := &interceptor.Registry{}
	t.stats = &statsRegistry{}
	f, err := stats.NewInterceptor()
	if err != nil {
		return nil, fmt.Errorf("stats interceptor: %w", err)
	}
	f.OnNewPeerConnection(t.stats.built)
	reg.Add(f)
	if err := webrtc.ConfigureNack(me, reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// statsRegistry hands the stats getter built inside NewPeerConnection to
// its caller: pion builds the interceptors synchronously in the calling
// goroutine, so serializing NewPeerConnection pairs each getter with its
// PeerConnection.
type statsRegistry struct {
	mu      sync.Mutex
	pending stats.Getter
}

func (r *statsRegistry) built(_ string, g stats.Getter) { r.pending = g }

// newPeerConnection returns a PeerConnection and its stats getter.
func (t *transport) newPeerConnection(cfg webrtc.Configuration) (*webrtc.PeerConnection, stats.Getter, error) {
	t.stats.mu.Lock()
	defer t.stats.mu.Unlock()
	t.stats.pending = nil
	pc, err := t.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	g := t.stats.pending
	t.stats.pending = nil
	if g == nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("no stats interceptor built for the peer connection")
	}
	return pc, g, nil
}
