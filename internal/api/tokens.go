package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/room"
)

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Room     string `json:"room"`
		Identity string `json:"identity"`
		Role     string `json:"role"`
		TTL      string `json:"ttl"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ttl := time.Hour
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			a.fail(w, r, badRequest("ttl %q: want a positive duration like 1h", req.TTL))
			return
		}
	}
	if req.Room == "" {
		a.fail(w, r, badRequest("room is required"))
		return
	}
	if req.Room != auth.AnyRoom && !room.ValidName(req.Room) {
		a.fail(w, r, fmt.Errorf("%w: %q", room.ErrBadName, req.Room))
		return
	}
	tok, err := a.cfg.Issuer.Mint(req.Room, req.Identity, role, ttl)
	if err != nil {
		a.fail(w, r, badRequest("%v", err))
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"token": tok, "room": req.Room, "role": role,
		"expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339)})
}
