package ingest

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// SessionStats is a snapshot of one WHIP or WHEP session.
type SessionStats struct {
	ID          string    `json:"id"`
	Room        string    `json:"room"`
	Kind        string    `json:"kind"` // KindPublisher or KindViewer
	Participant string    `json:"participant"`
	Name        string    `json:"name,omitempty"`
	State       string    `json:"state"` // PeerConnection state
	Started     time.Time `json:"started"`
	Tracks      int       `json:"tracks"`
	// Packets and Bytes count RTP packets received from a publisher, or
	// samples sent to a viewer.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// BitrateBps is the sum of the streams' bitrates.
	BitrateBps float64 `json:"bitrate_bps"`
	// RTTSeconds is the round-trip time of the selected ICE candidate pair
	// (STUN consent checks); zero until measured.
	RTTSeconds float64 `json:"rtt_s"`
	// Streams are the session's RTP streams as pion's stats interceptor
	// counts them: received from a publisher, sent to a viewer.
	Streams []StreamStats `json:"streams"`
}

// StreamStats is one RTP stream of a session. For a publisher's stream
// loss and jitter are measured by the server and the sent-feedback fields
// count its NACKs and PLIs; for a viewer's stream loss and jitter are the
// viewer's receiver reports and the received-feedback fields count the
// viewer's NACKs and PLIs.
type StreamStats struct {
	SSRC     uint32 `json:"ssrc"`
	Kind     string `json:"kind"` // audio or video
	MimeType string `json:"mime_type"`
	TrackID  string `json:"track_id,omitempty"`
	// BitrateBps is measured over the last second, RTP headers included.
	BitrateBps float64 `json:"bitrate_bps"`
	Packets    uint64  `json:"packets"`
	Bytes      uint64  `json:"bytes"` // RTP payload and header bytes

	PacketsLost   int64   `json:"packets_lost"`
	JitterSeconds float64 `json:"jitter_s"`
	NACKsSent     uint32  `json:"nacks_sent"`
	PLIsSent      uint32  `json:"plis_sent"`
	FIRsSent      uint32  `json:"firs_sent"`

	NACKsReceived uint32 `json:"nacks_received"`
	PLIsReceived  uint32 `json:"plis_received"`
	FIRsReceived  uint32 `json:"firs_received"`

	// RTTSeconds is the stream's round trip from RTCP reports (a viewer's
	// receiver reports; a publisher's only if it sends DLRR), else the
	// session's ICE round trip.
	RTTSeconds float64 `json:"rtt_s"`
}

// Sessions lists the live sessions.
func (s *Server) Sessions() []SessionStats {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	out := make([]SessionStats, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.stats())
	}
	return out
}

// RoomSessions lists the live sessions of one room.
func (s *Server) RoomSessions(room string) []SessionStats {
	out := []SessionStats{}
	for _, st := range s.Sessions() {
		if st.Room == room {
			out = append(out, st)
		}
	}
	return out
}

// Viewers is the number of WHEP sessions of a room.
func (s *Server) Viewers(room string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sessions {
		if ss.room == room && ss.kind == KindViewer {
			n++
		}
	}
	return n
}

func (s *session) stats() SessionStats {
	st := SessionStats{
		ID: s.id, Room: s.room, Kind: s.kind, Participant: s.participant, Name: s.name,
		State: s.pc.ConnectionState().String(), Started: s.started,
		Tracks: int(s.tracks.Load()), Packets: s.packets.Load(), Bytes: s.bytes.Load(),
	}
	if s.ctx.Err() == nil {
		st.RTTSeconds = iceRTT(s.pc) // an ending session's ICE agent may be gone
	}
	st.Streams = s.meter.snapshot(s.rtp, s.kind == KindPublisher)
	for i := range st.Streams {
		st.BitrateBps += st.Streams[i].BitrateBps
		if st.Streams[i].RTTSeconds == 0 {
			st.Streams[i].RTTSeconds = st.RTTSeconds
		}
	}
	return st
}

// iceRTT is the latest round trip of the nominated candidate pair.
func iceRTT(pc *webrtc.PeerConnection) float64 {
	for _, v := range pc.GetStats() {
		if cp, ok := v.(webrtc.ICECandidatePairStats); ok && cp.Nominated && cp.CurrentRoundTripTime > 0 {
			return cp.CurrentRoundTripTime
		}
	}
	return 0
}
