package ingest

import (
	"fmt"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/webrtc/v4"
)

// The composite's formats as sent to viewers.
var (
	viewerVideo = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	viewerAudio = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
)

// handleWHEP admits a viewer of a room's live composite.
func (s *Server) handleWHEP(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	room := r.PathValue("room")
	claims, err := s.authorize(r, room, auth.RoleView)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	offer, err := s.readBody(w, r, contentTypeSDP)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum, err := checkOffer(offer, offerReceives)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ss, sdpAnswer, err := s.startViewer(r, room, claims, string(offer), sum)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeAnswer(w, r, claims, ss, "whep", sdpAnswer)
}

func (s *Server) startViewer(r *http.Request, room string, claims *auth.Claims, offer string, sum offerSummary) (*session, string, error) {
	ss, err := s.newSession(KindViewer, room)
	if err != nil {
		return nil, "", err
	}
	pc := ss.pc
	ss.name = claims.Identity
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		ss.abort()
		return nil, "", fmt.Errorf("%w: %v", ErrMalformedOffer, err)
	}
	ss.remoteUfrag = remoteUfrag(pc)
	v := &viewer{s: ss, kf: limiter{every: keyframeInterval}}
	if sum.Video > 0 {
		if v.video, err = webrtc.NewTrackLocalStaticSample(viewerVideo, "video", "mosaic-"+room); err == nil {
			err = v.addTrack(v.video)
		}
	}
	if err == nil && sum.Audio > 0 {
		if v.audio, err = webrtc.NewTrackLocalStaticSample(viewerAudio, "audio", "mosaic-"+room); err == nil {
			err = v.addTrack(v.audio)
		}
	}
	if err != nil {
		ss.abort()
		return nil, "", fmt.Errorf("add composite tracks: %w", err)
	}
	live, err := s.cfg.Rooms.Watch(r.Context(), room, ss.id)
	if err != nil {
		ss.abort()
		return nil, "", fmt.Errorf("watch room %s: %w", room, err)
	}
	v.live = live
	ss.onEnd = live.Leave
	sdpAnswer, err := answer(r.Context(), pc)
	if err == nil && acceptedSections(pc) == 0 {
		err = &offerError{kind: ErrUnsupported, msg: "no offered codec could be negotiated"}
	}
	if err == nil && !ss.spawn(v.run) {
		err = ErrClosed
	}
	if err == nil {
		for _, snd := range v.senders {
			ss.spawn(func() { v.readRTCP(snd) })
		}
	}
	if err != nil {
		ss.cancel()
		ss.run(func(*session) {}) // closes pc, stops workers, calls Leave
		return nil, "", err
	}
	if err := s.admit(ss); err != nil {
		return nil, "", err
	}
	return ss, sdpAnswer, nil
}
