package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/mixer"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func (a *API) listRooms(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := page(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	all := a.cfg.Rooms.List()
	total := len(all)
	all = all[min(offset, total):]
	if len(all) > limit {
		all = all[:limit]
	}
	WriteJSON(w, http.StatusOK, map[string]any{"rooms": all, "total": total, "offset": offset, "limit": limit,
		"has_more": offset+len(all) < total})
}

func (a *API) createRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string        `json:"name"`
		Layout *mixer.Layout `json:"layout,omitempty"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if !room.ValidName(req.Name) {
		a.fail(w, r, fmt.Errorf("%w: %q", room.ErrBadName, req.Name))
		return
	}
	if req.Layout != nil {
		if err := req.Layout.Validate(); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	rm, err := a.cfg.Rooms.Open(req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Layout != nil {
		if err := rm.SetLayout(*req.Layout); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	WriteJSON(w, http.StatusCreated, rm.Info())
}

func (a *API) roomOr404(w http.ResponseWriter, r *http.Request) (*room.Room, bool) {
	name := r.PathValue("room")
	if !room.ValidName(name) {
		a.fail(w, r, fmt.Errorf("%w: %q", room.ErrBadName, name))
		return nil, false
	}
	rm, ok := a.cfg.Rooms.Get(name)
	if !ok {
		a.fail(w, r, fmt.Errorf("%w: room %q", errNotFound, name))
		return nil, false
	}
	return rm, true
}

func (a *API) getRoom(w http.ResponseWriter, r *http.Request) {
	if rm, ok := a.roomOr404(w, r); ok {
		WriteJSON(w, http.StatusOK, rm.Info())
	}
}

func (a *API) closeRoom(w http.ResponseWriter, r *http.Request) {
	rm, ok := a.roomOr404(w, r)
	if !ok {
		return
	}
	if recs := rm.Info().Recordings; len(recs) > 0 {
		for _, id := range recs {
			if _, err := a.cfg.Recordings.Stop(r.Context(), id); err != nil {
				a.log.Warn("stop recording of closed room", "recording", id, "err", err)
			}
		}
	}
	if err := a.cfg.Rooms.CloseRoom(r.Context(), rm.Name()); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) setLayout(w http.ResponseWriter, r *http.Request) {
	rm, ok := a.roomOr404(w, r)
	if !ok {
		return
	}
	var l mixer.Layout
	if err := decode(r, &l); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := rm.SetLayout(l); err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rm.Info())
}

// events is the room's Server-Sent Events feed (view, publish or admin token
// for the room; also accepted as ?token= since EventSource cannot set headers).
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("room")
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	c, err := a.cfg.Issuer.Parse(tok)
	if err == nil && c.Room != auth.AnyRoom && c.Room != name {
		err = auth.ErrWrongRoom
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	events, cancel := a.cfg.Rooms.Subscribe(name)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	if rm, ok := a.cfg.Rooms.Get(name); ok {
		b, _ := json.Marshal(rm.Info())
		fmt.Fprintf(w, "event: room\ndata: %s\n\n", b)
	}
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case e, ok := <-events:
			if !ok {
				return
			}
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
			fl.Flush()
		}
	}
}
