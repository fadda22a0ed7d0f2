package ingest

import "time"

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
