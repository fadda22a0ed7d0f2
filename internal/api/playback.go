package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

// playbackURL answers GET /api/recordings/{id}/url?file=NAME with a presigned
// GET URL for one of the recording's stored files (default composite.mp4).
func (a *API) playbackURL(w http.ResponseWriter, r *http.Request) {
	id, ok := a.recordingID(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("file")
	if name == "" {
		name = "composite.mp4"
	}
	rec, err := a.cfg.Catalog.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var file *catalog.File
	for i := range rec.Files {
		if rec.Files[i].Name == name {
			file = &rec.Files[i]
		}
	}
	if file == nil {
		if rec.State == catalog.StateRecording || rec.State == catalog.StateUploading {
			a.fail(w, r, fmt.Errorf("%w: recording %s is %s; %s exists once it is ready", errConflict, id, rec.State, name))
			return
		}
		a.fail(w, r, fmt.Errorf("%w: recording %s has no file %q", errNotFound, id, name))
		return
	}
	if a.cfg.Store == nil {
		a.fail(w, r, errNoStore)
		return
	}
	u, err := a.cfg.Store.PresignGet(r.Context(), file.Key, a.cfg.URLTTL)
	if err != nil {
		a.fail(w, r, fmt.Errorf("presign %s: %w", file.Key, err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "file": name, "size": file.Size, "url": u,
		"expires_at": time.Now().Add(a.cfg.URLTTL).UTC().Format(time.RFC3339)})
}
