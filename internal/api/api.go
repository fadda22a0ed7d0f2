// Package api serves Mosaic's JSON API: rooms, recordings and tokens.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/recording"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// Presigner makes playback URLs for stored objects.
type Presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Deleter removes a recording's objects.
type Deleter interface {
	DeletePrefix(ctx context.Context, prefix string) error
}

// Config wires the API to the node's parts.
type Config struct {
	Issuer     *auth.Issuer
	Rooms      *room.Registry
	Recordings *recording.Manager
	Catalog    *catalog.Store
	Store      Presigner
	Deleter    Deleter
	// URLTTL is how long presigned playback URLs stay valid.
	URLTTL time.Duration
	Log    *slog.Logger
}

// API is the JSON API's handlers.
type API struct {
	cfg Config
	log *slog.Logger
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = 6 * time.Hour
	}
	return &API{cfg: cfg, log: cfg.Log}
}

// maxBody caps API request bodies.
const maxBody = 64 << 10

// Routes registers the API on mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/rooms", a.admin(a.listRooms))
	mux.HandleFunc("POST /api/rooms", a.admin(a.createRoom))
	mux.HandleFunc("GET /api/rooms/{room}", a.admin(a.getRoom))
	mux.HandleFunc("DELETE /api/rooms/{room}", a.admin(a.closeRoom))
	mux.HandleFunc("PUT /api/rooms/{room}/layout", a.admin(a.setLayout))
	mux.HandleFunc("GET /api/rooms/{room}/events", a.events)
	mux.HandleFunc("POST /api/rooms/{room}/recordings", a.admin(a.startRecording))
	mux.HandleFunc("GET /api/recordings", a.admin(a.listRecordings))
	mux.HandleFunc("GET /api/recordings/{id}", a.admin(a.getRecording))
	mux.HandleFunc("POST /api/recordings/{id}/stop", a.admin(a.stopRecording))
	mux.HandleFunc("GET /api/recordings/{id}/url", a.admin(a.playbackURL))
	mux.HandleFunc("DELETE /api/recordings/{id}", a.admin(a.deleteRecording))
	mux.HandleFunc("POST /api/tokens", a.admin(a.createToken))
	mux.HandleFunc("GET /api/openapi.json", serveOpenAPI)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no API route %s %s", r.Method, r.URL.Path))
	})
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg} with status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// fail maps err to its status.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExpired):
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
	case errors.Is(err, auth.ErrWrongRoom), errors.Is(err, auth.ErrWrongRole):
		status = http.StatusForbidden
	case errors.Is(err, errBadRequest), errors.Is(err, room.ErrBadName), errors.Is(err, mixer.ErrInvalidLayout),
		errors.Is(err, auth.ErrUnknownRole):
		status = http.StatusBadRequest
	case errors.Is(err, recording.ErrNoSuchRoom), errors.Is(err, catalog.ErrNotFound), errors.Is(err, errNotFound):
		status = http.StatusNotFound
	case errors.Is(err, recording.ErrNotRecording), errors.Is(err, errConflict):
		status = http.StatusConflict
	case errors.Is(err, recording.ErrClosed), errors.Is(err, room.ErrClosed), errors.Is(err, errNoStore):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	WriteError(w, status, err.Error())
}

// admin requires an admin token (for the room in the path, if any).
func (a *API) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := a.cfg.Issuer.Parse(auth.BearerToken(r.Header.Get("Authorization")))
		if err == nil && c.Role != auth.RoleAdmin {
			err = fmt.Errorf("%w: token role is %s, need admin", auth.ErrWrongRole, c.Role)
		}
		if err == nil && c.Room != auth.AnyRoom {
			if rn := r.PathValue("room"); rn == "" || rn != c.Room {
				err = auth.ErrWrongRoom
			}
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r)
	}
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return badRequest("read body: %v", err)
	}
	if len(body) > maxBody {
		return badRequest("body larger than %d bytes", maxBody)
	}
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	return nil
}

// page reads offset/limit query parameters.
func page(r *http.Request) (offset, limit int, err error) {
	offset, limit = 0, 50
	if s := r.URL.Query().Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, badRequest("offset must be a non-negative integer")
		}
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 500 {
			return 0, 0, badRequest("limit must be between 1 and 500")
		}
	}
	return offset, limit, nil
}
