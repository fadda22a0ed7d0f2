package api

import (
	"fmt"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/recording"
	"github.com/mosaic-rtc/mosaic/internal/room"
)

// fileView is a recording's file as the API shows it.
type fileView struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// recordingView is a recording as the API shows it.
type recordingView struct {
	ID        string     `json:"id"`
	Room      string     `json:"room"`
	State     string     `json:"state"`
	Tracks    bool       `json:"tracks"`
	StartedAt string     `json:"started_at"`
	StoppedAt string     `json:"stopped_at,omitempty"`
	DurationS float64    `json:"duration_s"`
	Segments  int        `json:"segments"`
	Uploaded  int        `json:"segments_uploaded"`
	Files     []fileView `json:"files"`
	Error     string     `json:"error,omitempty"`
}

func (a *API) view(r *http.Request, rec *catalog.Recording, urls bool) recordingView {
	v := recordingView{ID: rec.ID, Room: rec.Room, State: string(rec.State), Tracks: rec.Tracks,
		StartedAt: rec.StartedAt.Format("2006-01-02T15:04:05.000Z07:00"), DurationS: rec.DurationS,
		Segments: len(rec.Segments), Files: []fileView{}, Error: rec.Error}
	if rec.StoppedAt != nil {
		v.StoppedAt = rec.StoppedAt.Format("2006-01-02T15:04:05.000Z07:00")
	}
	for _, s := range rec.Segments {
		if s.Uploaded {
			v.Uploaded++
		}
	}
	for _, f := range rec.Files {
		fv := fileView{Name: f.Name, Size: f.Size}
		if urls && a.cfg.Store != nil {
			u, err := a.cfg.Store.PresignGet(r.Context(), f.Key, a.cfg.URLTTL)
			if err != nil {
				a.log.Warn("presign", "key", f.Key, "err", err)
			}
			fv.URL = u
		}
		v.Files = append(v.Files, fv)
	}
	return v
}

func (a *API) startRecording(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("room")
	if !room.ValidName(name) {
		a.fail(w, r, fmt.Errorf("%w: %q", room.ErrBadName, name))
		return
	}
	var opts recording.Options
	if err := decode(r, &opts); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.cfg.Recordings.Start(r.Context(), name, opts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, a.view(r, rec, false))
}

func (a *API) recordingID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		a.fail(w, r, badRequest("invalid recording id %q", id))
		return "", false
	}
	return id, true
}

func (a *API) stopRecording(w http.ResponseWriter, r *http.Request) {
	id, ok := a.recordingID(w, r)
	if !ok {
		return
	}
	rec, err := a.cfg.Recordings.Stop(r.Context(), id)
	if err != nil {
		// Stopping a recording that already stopped answers with its state.
		if cur, gerr := a.cfg.Catalog.Get(r.Context(), id); gerr == nil && cur.State != catalog.StateRecording {
			WriteJSON(w, http.StatusOK, a.view(r, cur, true))
			return
		} else if gerr != nil {
			a.fail(w, r, gerr)
			return
		}
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, a.view(r, rec, true))
}

func (a *API) getRecording(w http.ResponseWriter, r *http.Request) {
	id, ok := a.recordingID(w, r)
	if !ok {
		return
	}
	rec, err := a.cfg.Catalog.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, a.view(r, rec, true))
}

func (a *API) listRecordings(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := page(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	roomName := r.URL.Query().Get("room")
	if roomName != "" && !room.ValidName(roomName) {
		a.fail(w, r, fmt.Errorf("%w: %q", room.ErrBadName, roomName))
		return
	}
	// One more than asked tells whether another page follows.
	recs, err := a.cfg.Catalog.List(r.Context(), roomName, offset, limit+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	more := len(recs) > limit
	if more {
		recs = recs[:limit]
	}
	out := make([]recordingView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, a.view(r, rec, true))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"recordings": out, "offset": offset, "limit": limit, "has_more": more})
}

func (a *API) deleteRecording(w http.ResponseWriter, r *http.Request) {
	id, ok := a.recordingID(w, r)
	if !ok {
		return
	}
	rec, err := a.cfg.Catalog.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rec.State == catalog.StateRecording || rec.State == catalog.StateUploading {
		a.fail(w, r, fmt.Errorf("%w: recording %s is %s; stop it and wait until it is ready", errConflict, id, rec.State))
		return
	}
	if a.cfg.Deleter != nil {
		if err := a.cfg.Deleter.DeletePrefix(r.Context(), fmt.Sprintf("recordings/%s/%s/", rec.Room, rec.ID)); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if err := a.cfg.Catalog.Delete(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
