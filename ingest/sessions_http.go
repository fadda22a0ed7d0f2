package ingest

import (
	"encoding/json"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// SessionsHandler serves GET /api/rooms/{room}/sessions (admin token): the
// room's live sessions with their stream statistics.
func (s *Server) SessionsHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		room := r.PathValue("room")
		if _, err := s.authorize(r, room, auth.RoleAdmin); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"room": room, "sessions": s.RoomSessions(room)})
	}
}
