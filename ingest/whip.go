package ingest

import (
	"fmt"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// handleWHIP admits a publisher: token, offer, PeerConnection, room.
// Nothing is created before the request has passed every check.
func (s *Server) handleWHIP(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	room := r.PathValue("room")
	claims, err := s.authorize(r, room, auth.RolePublish)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	offer, err := s.readBody(w, r, contentTypeSDP)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := checkOffer(offer, offerSends); err != nil {
		s.writeError(w, r, err)
		return
	}
	ss, sdpAnswer, err := s.startPublisher(r, room, claims, string(offer))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeAnswer(w, r, claims, ss, "whip", sdpAnswer)
}

func (s *Server) startPublisher(r *http.Request, room string, claims *auth.Claims, offer string) (*session, string, error) {
	ss, err := s.newSession(KindPublisher, room)
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
	rm, err := s.cfg.Rooms.Join(r.Context(), room, Participant{ID: ss.id, Name: ss.name})
	if err != nil {
		ss.abort()
		return nil, "", fmt.Errorf("join room %s: %w", room, err)
	}
	pub := &publisher{s: ss, room: rm}
	ss.onEnd = func() { rm.Leave(ss.id) }
	pc.OnTrack(pub.onTrack)
	sdpAnswer, err := answer(r.Context(), pc)
	if err == nil && acceptedSections(pc) == 0 {
		err = &offerError{kind: ErrUnsupported, msg: "no offered codec could be negotiated"}
	}
	if err != nil {
		ss.cancel()
		ss.run(func(*session) {}) // closes pc and calls Leave
		return nil, "", err
	}
	if err := s.admit(ss); err != nil {
		return nil, "", err
	}
	return ss, withOpusPrefs(sdpAnswer), nil
}

// acceptedSections counts the audio and video sections the local answer
// accepted.
func acceptedSections(pc *webrtc.PeerConnection) int {
	ld := pc.CurrentLocalDescription()
	if ld == nil {
		ld = pc.LocalDescription()
	}
	if ld == nil {
		return 0
	}
	parsed, err := parseSDP(ld.SDP)
	if err != nil {
		return 0
	}
	n := 0
	for _, md := range parsed.MediaDescriptions {
		if (md.MediaName.Media == "audio" || md.MediaName.Media == "video") &&
			md.MediaName.Port.Value != 0 && directionOf(md.Attributes, "sendrecv") != "inactive" {
			n++
		}
	}
	return n
}

// remoteUfrag is the ICE username fragment of the applied offer.
func remoteUfrag(pc *webrtc.PeerConnection) string {
	rd := pc.RemoteDescription()
	if rd == nil {
		return ""
	}
	parsed, err := parseSDP(rd.SDP)
	if err != nil {
		return ""
	}
	return ufragOf(parsed)
}

func ufragOf(sd *sdp.SessionDescription) string {
	if u, ok := sd.Attribute("ice-ufrag"); ok {
		return u
	}
	for _, md := range sd.MediaDescriptions {
		if u, ok := md.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	return ""
}

// parseSDP parses a copy of a description's text: pion's own descriptions
// cache their parse and must not be unmarshalled from another goroutine.
func parseSDP(text string) (*sdp.SessionDescription, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return nil, err
	}
	return &sd, nil
}
