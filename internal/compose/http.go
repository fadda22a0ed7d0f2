package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
)

// Presigner makes download URLs for stored objects.
type Presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// APIConfig wires the composition API.
type APIConfig struct {
	Issuer       *auth.Issuer
	Catalog      *catalog.Store
	Compositions *jobs.CompositionStore
	Enqueuer     *jobs.Enqueuer
	Store        Presigner
	URLTTL       time.Duration // default 6h
	Log          *slog.Logger
}

// API serves compositions of recordings (admin token).
type API struct{ cfg APIConfig }

// NewAPI returns the composition API.
func NewAPI(cfg APIConfig) *API {
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = 6 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &API{cfg: cfg}
}

// Routes registers the composition routes on mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/recordings/{id}/compositions", a.create)
	mux.HandleFunc("GET /api/recordings/{id}/compositions", a.list)
	mux.HandleFunc("GET /api/recordings/{id}/compositions/{cid}", a.get)
	mux.HandleFunc("DELETE /api/recordings/{id}/compositions/{cid}", a.cancel)
}

// Request is the body of POST /api/recordings/{id}/compositions; every
// field is optional (grid, 1280x720 at 30 fps, the whole recording).
type Request struct {
	Layout json.RawMessage `json:"layout,omitempty"` // "grid" or a layout object
	Width  int             `json:"width,omitempty"`
	Height int             `json:"height,omitempty"`
	FPS    int             `json:"fps,omitempty"`
	FromS  float64         `json:"from_s,omitempty"`
	ToS    float64         `json:"to_s,omitempty"`
}

// View is a composition as the API shows it.
type View struct {
	*jobs.Composition
	URL string `json:"url,omitempty"`
}

const maxBody = 64 << 10

// errRequest and errState map to 400 and 409.
var (
	errRequest = errors.New("bad request")
	errState   = errors.New("conflict")
)

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.recording(w, r)
	if !ok {
		return
	}
	var req Request
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(body) > maxBody {
		err = fmt.Errorf("body over %d bytes", maxBody)
	}
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		a.fail(w, fmt.Errorf("%w: %w", errRequest, err))
		return
	}
	c, err := a.check(rec, req)
	if err != nil {
		a.fail(w, err)
		return
	}
	ctx := r.Context()
	if err := a.cfg.Compositions.Create(ctx, c); err != nil {
		a.fail(w, err)
		return
	}
	if err := a.cfg.Enqueuer.EnqueueCompose(ctx, jobs.ComposePayload{RecordingID: rec.ID, CompositionID: c.ID}); err != nil {
		_, _ = a.cfg.Compositions.Update(context.WithoutCancel(ctx), c.ID, func(c *jobs.Composition) error {
			c.State, c.Error = jobs.CompositionFailed, err.Error()
			return nil
		})
		a.fail(w, err)
		return
	}
	a.cfg.Log.Info("composition queued", "recording", rec.ID, "composition", c.ID, "layout", string(c.Layout))
	writeJSON(w, http.StatusCreated, View{Composition: c})
}

// check turns a request into a composition, with precise errors.
func (a *API) check(rec *catalog.Recording, req Request) (*jobs.Composition, error) {
	layout, err := ParseLayout(req.Layout)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRequest, err)
	}
	lj, _ := json.Marshal(layout)
	s := Spec{Tracks: []TrackFile{{}}, Layout: layout, Width: req.Width, Height: req.Height, FPS: req.FPS,
		From: seconds(req.FromS), To: seconds(req.ToS), Out: "."}
	if err := s.checkParams(); err != nil {
		return nil, fmt.Errorf("%w: %w", errRequest, err)
	}
	switch {
	case rec.State != catalog.StateReady:
		return nil, fmt.Errorf("%w: recording %s is %s, not ready", errState, rec.ID, rec.State)
	case len(rec.TrackFiles) == 0:
		return nil, fmt.Errorf("%w: %w: recording %s has no raw tracks (start it with {\"tracks\": true})", errState, ErrNoTracks, rec.ID)
	case rec.DurationS > 0 && (req.FromS >= rec.DurationS || req.ToS > rec.DurationS+rangeSlack.Seconds()):
		return nil, fmt.Errorf("%w: %w: %g..%g s asked, the recording lasts %.3f s", errRequest, ErrRange, req.FromS, req.ToS, rec.DurationS)
	}
	return &jobs.Composition{ID: jobs.NewCompositionID(), RecordingID: rec.ID, State: jobs.CompositionQueued, Layout: lj,
		Width: s.Width, Height: s.Height, FPS: s.FPS, FromS: req.FromS, ToS: req.ToS}, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.recording(w, r)
	if !ok {
		return
	}
	c, ok := a.composition(w, r, rec)
	if !ok {
		return
	}
	v, err := a.view(r.Context(), c)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// list answers {"compositions": [...]}: the recording's compositions,
// newest first, with download URLs for those done.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.recording(w, r)
	if !ok {
		return
	}
	cs, err := a.cfg.Compositions.List(r.Context(), rec.ID)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]View, 0, len(cs))
	for _, c := range cs {
		if c.RecordingID != rec.ID {
			continue
		}
		v, err := a.view(r.Context(), c)
		if err != nil {
			a.fail(w, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"compositions": out})
}

// view adds the download URL of a finished composition.
func (a *API) view(ctx context.Context, c *jobs.Composition) (View, error) {
	v := View{Composition: c}
	if c.State == jobs.CompositionDone && c.Key != "" && a.cfg.Store != nil {
		url, err := a.cfg.Store.PresignGet(ctx, c.Key, a.cfg.URLTTL)
		if err != nil {
			return v, err
		}
		v.URL = url
	}
	return v, nil
}

// cancel marks the composition cancelled: a queued one never renders, a
// rendering one stops within a second or so.
func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.recording(w, r)
	if !ok {
		return
	}
	if _, ok := a.composition(w, r, rec); !ok {
		return
	}
	c, err := a.cfg.Compositions.Update(r.Context(), r.PathValue("cid"), func(c *jobs.Composition) error {
		if c.State.Final() {
			return fmt.Errorf("%w: composition %s is already %s", errState, c.ID, c.State)
		}
		c.Cancelled = true
		if c.State == jobs.CompositionQueued {
			c.State = jobs.CompositionCancelled
		}
		return nil
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, View{Composition: c})
}

// recording authorizes the request (admin, of any room or the
// recording's) and loads the recording.
func (a *API) recording(w http.ResponseWriter, r *http.Request) (*catalog.Recording, bool) {
	c, err := a.cfg.Issuer.Parse(auth.BearerToken(r.Header.Get("Authorization")))
	if err == nil && c.Role != auth.RoleAdmin {
		err = fmt.Errorf("%w: token role is %s, need admin", auth.ErrWrongRole, c.Role)
	}
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		a.fail(w, fmt.Errorf("%w: recording id %q", errRequest, id))
		return nil, false
	}
	rec, err := a.cfg.Catalog.Get(r.Context(), id)
	if err == nil && c.Room != auth.AnyRoom && c.Room != rec.Room {
		err = auth.ErrWrongRoom
	}
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	return rec, true
}

func (a *API) composition(w http.ResponseWriter, r *http.Request, rec *catalog.Recording) (*jobs.Composition, bool) {
	cid := r.PathValue("cid")
	if !jobs.ValidCompositionID(cid) {
		a.fail(w, fmt.Errorf("%w: composition id %q", errRequest, cid))
		return nil, false
	}
	c, err := a.cfg.Compositions.Get(r.Context(), cid)
	if err == nil && c.RecordingID != rec.ID {
		err = fmt.Errorf("composition %s of recording %s: %w", cid, rec.ID, jobs.ErrCompositionNotFound)
	}
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	return c, true
}

func (a *API) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExpired):
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
	case errors.Is(err, auth.ErrWrongRoom), errors.Is(err, auth.ErrWrongRole):
		status = http.StatusForbidden
	case errors.Is(err, errRequest):
		status = http.StatusBadRequest
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, jobs.ErrCompositionNotFound):
		status = http.StatusNotFound
	case errors.Is(err, errState), errors.Is(err, jobs.ErrCompositionExists):
		status = http.StatusConflict
	}
	if status == http.StatusInternalServerError {
		a.cfg.Log.Error("composition api", "err", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
