package rtmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// Routes registers the outputs API (admin token for the room):
//
//	POST   /api/rooms/{room}/outputs        {"url": "rtmp://host/app/key"} → 201 output
//	                                        (rtmps: optional "ca_pem" or "insecure_skip_verify")
//	GET    /api/rooms/{room}/outputs        → {"outputs": [...]}
//	GET    /api/rooms/{room}/outputs/{id}   → output
//	DELETE /api/rooms/{room}/outputs/{id}   → 200 output (stopped)
func (m *Manager) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/rooms/{room}/outputs", m.admin(m.create))
	mux.HandleFunc("GET /api/rooms/{room}/outputs", m.admin(m.list))
	mux.HandleFunc("GET /api/rooms/{room}/outputs/{id}", m.admin(m.get))
	mux.HandleFunc("DELETE /api/rooms/{room}/outputs/{id}", m.admin(m.remove))
}

// Run waits for ctx and then stops every output.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.Close()
	return nil
}

type createRequest struct {
	URL string `json:"url"`
	// rtmps only: more trusted CA certificates (PEM), or no check at all.
	CAPEM              string `json:"ca_pem,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

const maxCreateBody = 64 << 10

func (m *Manager) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	if err != nil || len(body) > maxCreateBody {
		writeError(w, http.StatusBadRequest, "body unreadable or larger than 64 KiB")
		return
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON body: %v", err))
		return
	}
	info, err := m.Add(r.PathValue("room"), req.URL, OutputOptions{CAPEM: req.CAPEM, InsecureSkipVerify: req.InsecureSkipVerify})
	if err != nil {
		m.fail(w, err)
		return
	}
	w.Header().Set("Location", "/api/rooms/"+info.Room+"/outputs/"+info.ID)
	writeJSON(w, http.StatusCreated, info)
}

func (m *Manager) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"outputs": m.List(r.PathValue("room"))})
}

func (m *Manager) get(w http.ResponseWriter, r *http.Request) {
	info, err := m.Get(r.PathValue("room"), r.PathValue("id"))
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (m *Manager) remove(w http.ResponseWriter, r *http.Request) {
	info, err := m.Remove(r.PathValue("room"), r.PathValue("id"))
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (m *Manager) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExpired):
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
	case errors.Is(err, auth.ErrWrongRoom), errors.Is(err, auth.ErrWrongRole):
		status = http.StatusForbidden
	case errors.Is(err, ErrBadURL), errors.Is(err, ErrBadTLS):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNoSuchRoom), errors.Is(err, ErrNoSuchOutput):
		status = http.StatusNotFound
	case errors.Is(err, ErrTooMany), errors.Is(err, ErrUnsupported):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		m.log.Error("rtmp api", "err", err)
	}
	writeError(w, status, err.Error())
}

// admin requires an admin token for the room in the path (or for every room).
func (m *Manager) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if m.cfg.Issuer == nil {
			m.fail(w, auth.ErrMissing)
			return
		}
		if _, err := m.cfg.Issuer.Authorize(auth.BearerToken(r.Header.Get("Authorization")),
			r.PathValue("room"), auth.RoleAdmin); err != nil {
			m.fail(w, err)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
