package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/webrtc/v4"
)

const (
	contentTypeSDP     = "application/sdp"
	contentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// Routes registers the WHIP and WHEP endpoints and their session resources.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /rooms/{room}/whip", s.handleWHIP)
	mux.HandleFunc("OPTIONS /rooms/{room}/whip", s.handleOptions)
	mux.HandleFunc("PATCH /rooms/{room}/whip/{session}", s.handlePatch(KindPublisher))
	mux.HandleFunc("DELETE /rooms/{room}/whip/{session}", s.handleDelete(KindPublisher))
	mux.HandleFunc("OPTIONS /rooms/{room}/whip/{session}", s.handleSessionOptions)

	mux.HandleFunc("POST /rooms/{room}/whep", s.handleWHEP)
	mux.HandleFunc("OPTIONS /rooms/{room}/whep", s.handleOptions)
	mux.HandleFunc("PATCH /rooms/{room}/whep/{session}", s.handlePatch(KindViewer))
	mux.HandleFunc("DELETE /rooms/{room}/whep/{session}", s.handleDelete(KindViewer))
	mux.HandleFunc("OPTIONS /rooms/{room}/whep/{session}", s.handleSessionOptions)

	mux.HandleFunc("GET /api/rooms/{room}/sessions", s.SessionsHandler())

	// Any other method gets a JSON 405 rather than the mux's plain text.
	for _, kind := range []string{"whip", "whep"} {
		mux.HandleFunc("/rooms/{room}/"+kind, s.methodNotAllowed("POST, OPTIONS"))
		mux.HandleFunc("/rooms/{room}/"+kind+"/{session}", s.methodNotAllowed("PATCH, DELETE, OPTIONS"))
	}
}

func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		w.Header().Set("Allow", allow)
		s.writeError(w, r, statusError(http.StatusMethodNotAllowed, "method %s not allowed here (allowed: %s)", r.Method, allow))
	}
}

// httpError is an error with the status the client gets.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func statusError(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// writeError answers with the JSON error body; the status comes from the
// error's type or sentinel.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := err.Error()
	var he *httpError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExpired):
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
	case errors.Is(err, auth.ErrWrongRoom), errors.Is(err, auth.ErrWrongRole):
		status = http.StatusForbidden
	case errors.Is(err, ErrMalformedOffer), errors.Is(err, ErrUnsupported),
		errors.Is(err, ErrNothingToAccept), errors.Is(err, ErrMalformedFrag):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNoSuchSession), errors.Is(err, ErrNoSuchRoom):
		status = http.StatusNotFound
	case errors.Is(err, ErrRoomFull):
		status = http.StatusConflict
	case errors.Is(err, ErrICERestart):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func setCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post")
}

// setLinks advertises the ICE servers: the configured ones, and the
// built-in TURN server with credentials for the client's token.
func (s *Server) setLinks(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	servers := s.cfg.ICEServers
	if ts, ok := s.turn.iceServer(c, requestHost(r)); ok {
		servers = append([]webrtc.ICEServer{ts}, servers...)
	}
	for _, l := range iceServerLinks(servers) {
		w.Header().Add("Link", l)
	}
}

// requestHost is the host name the client used to reach the server.
func requestHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// optionalClaims are the claims of a valid token for room, if the request
// has one (OPTIONS needs none).
func (s *Server) optionalClaims(r *http.Request, room string) *auth.Claims {
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" {
		return nil
	}
	c, err := s.cfg.Issuer.Parse(tok)
	if err != nil || (c.Room != auth.AnyRoom && c.Room != room) {
		return nil
	}
	return c
}

func (s *Server) handleOptions(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	w.Header().Set("Accept-Post", contentTypeSDP)
	s.setLinks(w, r, s.optionalClaims(r, r.PathValue("room")))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSessionOptions(w http.ResponseWriter, r *http.Request) {
	setCORS(w)
	w.Header().Set("Accept-Patch", contentTypeSDPFrag)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDelete(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		ss, err := s.lookup(r.PathValue("room"), kind, r.PathValue("session"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.authorizeSession(r, ss); err != nil {
			s.writeError(w, r, err)
			return
		}
		ss.close()
		w.WriteHeader(http.StatusOK)
	}
}

// authorize checks the bearer token for role in room.
func (s *Server) authorize(r *http.Request, room string, role auth.Role) (*auth.Claims, error) {
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" && r.Header.Get("Authorization") != "" {
		return nil, fmt.Errorf("%w: Authorization header is not a bearer token", auth.ErrInvalid)
	}
	return s.cfg.Issuer.Authorize(tok, room, role)
}

// readBody checks the content type and reads the capped body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, want string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.EqualFold(mt, want) {
		if ct == "" {
			ct = "none"
		}
		return nil, statusError(http.StatusUnsupportedMediaType,
			"unsupported content type %s: want %s", ct, want)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, statusError(http.StatusRequestEntityTooLarge,
				"request body larger than %d bytes", s.cfg.MaxBodyBytes)
		}
		return nil, statusError(http.StatusBadRequest, "read body: %v", err)
	}
	return body, nil
}

// writeAnswer sends the 201 with the SDP answer and the session resource.
func (s *Server) writeAnswer(w http.ResponseWriter, r *http.Request, c *auth.Claims, ss *session, path, sdp string) {
	setCORS(w)
	s.setLinks(w, r, c)
	h := w.Header()
	h.Set("Content-Type", contentTypeSDP)
	h.Set("Location", "/rooms/"+url.PathEscape(ss.room)+"/"+path+"/"+ss.id)
	h.Set("ETag", ss.ETag())
	h.Set("Accept-Patch", contentTypeSDPFrag)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sdp)
}
