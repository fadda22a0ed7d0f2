package ingest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/webrtc/v4"
)

// publisher hands a WHIP session's tracks to its room.
type publisher struct {
	s      *session
	room   Room
	videos atomic.Int32

	mu        sync.Mutex
	simulcast map[*webrtc.RTPReceiver]*simulcast // by the receiver its layers share
}

// onTrack runs in pion's goroutine when a track's first packet arrives: it
// announces the track to the room and starts the track's forwarder.
func (p *publisher) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if track.RID() != "" && track.Kind() == webrtc.RTPCodecTypeVideo {
		p.onLayer(track, recv)
		return
	}
	info := p.trackInfo(track)
	log := p.s.log.With("participant", p.s.id, "track", info.TrackID, "mime", info.MimeType, "ssrc", info.SSRC)
	kf := newKeyframeRequester(p.s.pc, info.SSRC, info.Kind == media.Video)
	sink, err := p.room.AddTrack(info, kf.request)
	if err != nil {
		log.Warn("room refused track", "err", err)
		p.s.spawn(func() { drain(track, recv) })
		return
	}
	f := &forwarder{track: track, recv: recv, sink: sink, s: p.s, log: log}
	if !p.s.spawn(f.run) {
		_ = sink.Close()
		return
	}
	p.s.tracks.Add(1)
	p.s.meter.add(info.SSRC, string(info.Kind), info.MimeType, info.TrackID)
	log.Info("track published", "kind", info.Kind, "screen", info.Screen)
}

// onLayer takes one layer (RID) of a simulcast video track: the first
// layer announces the track to the room, every layer joins its forwarder.
func (p *publisher) onLayer(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sc, ok := p.simulcast[recv]; ok {
		if !sc.addLayer(track) {
			p.s.spawn(func() { drainLayer(track, recv) })
		}
		return
	}
	info := p.trackInfo(track)
	log := p.s.log.With("participant", p.s.id, "track", info.TrackID, "mime", info.MimeType, "ssrc", info.SSRC,
		"simulcast", true)
	var forwarding atomic.Pointer[simulcast]
	sink, err := p.room.AddTrack(info, func() {
		if sc := forwarding.Load(); sc != nil {
			sc.requestKeyframe()
		}
	})
	if err != nil {
		log.Warn("room refused track", "err", err)
		p.s.spawn(func() { drainLayer(track, recv) })
		return
	}
	sc := newSimulcast(p.s, recv, sink, info.MimeType, info.ClockRate, info.SSRC, log)
	forwarding.Store(sc)
	if !p.s.spawn(sc.run) {
		_ = sink.Close()
		return
	}
	if p.simulcast == nil {
		p.simulcast = map[*webrtc.RTPReceiver]*simulcast{}
	}
	p.simulcast[recv] = sc
	if !sc.addLayer(track) {
		p.s.spawn(func() { drainLayer(track, recv) })
	}
	p.s.tracks.Add(1)
	log.Info("track published", "kind", info.Kind, "screen", info.Screen, "rid", track.RID())
}

// trackInfo describes a published track; the first video track is the
// camera, later ones are screen shares.
func (p *publisher) trackInfo(track *webrtc.TrackRemote) media.TrackInfo {
	codec := track.Codec()
	kind := media.Audio
	screen := false
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		kind = media.Video
		// A participant's second video track is a screen share, as is one
		// whose id says so.
		screen = p.videos.Add(1) > 1 || strings.Contains(strings.ToLower(track.ID()), "screen")
	}
	pt := uint8(track.PayloadType())
	if pt == 0 { // a simulcast layer's track may not know it yet
		pt = uint8(codec.PayloadType)
	}
	return media.TrackInfo{
		Room: p.s.room, Participant: p.s.id, Name: p.s.name,
		TrackID: trackID(track), Kind: kind, MimeType: codec.MimeType, ClockRate: codec.ClockRate,
		Channels: codec.Channels, PayloadType: pt, SSRC: uint32(track.SSRC()),
		Screen: screen,
	}
}

func trackID(t *webrtc.TrackRemote) string {
	if id := t.ID(); id != "" {
		return id
	}
	return fmt.Sprintf("%s-%d", t.Kind(), t.SSRC())
}

// drain reads a refused track and its RTCP until they end, so that their
// buffers never fill.
func drain(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	rtcpDone := make(chan struct{})
	go func() {
		defer close(rtcpDone)
		buf := make([]byte, maxPacket)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, maxPacket)
	for {
		if _, _, err := track.Read(buf); err != nil {
			break
		}
	}
	<-rtcpDone
}

// drainLayer is drain for one layer of a simulcast track.
func drainLayer(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	rtcpDone := make(chan struct{})
	go func() {
		defer close(rtcpDone)
		buf := make([]byte, maxPacket)
		for {
			if _, _, err := recv.ReadSimulcast(buf, track.RID()); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, maxPacket)
	for {
		if _, _, err := track.Read(buf); err != nil {
			break
		}
	}
	<-rtcpDone
}
