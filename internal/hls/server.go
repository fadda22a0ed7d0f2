// Package hls serves a room's live composite as Low-Latency HLS: fMP4 (CMAF)
// segments and parts in a sliding window, one muxer per room, started on
// the first request and stopped when the room's output ends.
package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// Rooms finds a live room's composite.
type Rooms interface {
	Source(room string) (Source, bool)
}

// Config of the HLS server.
type Config struct {
	Rooms Rooms
	// Issuer verifies viewer tokens; with TokenRequired every request needs a
	// view (or admin) token for the room, as ?token= or a bearer header.
	Issuer        *auth.Issuer
	TokenRequired bool
	// Muxer is the template for every room's muxer (Room and Source are set
	// per room).
	Muxer MuxerConfig
	// ReadyTimeout bounds the wait for a new muxer's first keyframe (default 10s).
	ReadyTimeout time.Duration
	// Watch, if set, adds each HLS client to its room's viewers; the
	// client leaves after ViewerTimeout without a request (default three
	// segment durations, at least 3s).
	Watch         WatchFunc
	ViewerTimeout time.Duration
	Log           *slog.Logger
}

// Server holds the rooms' muxers and serves GET /rooms/{room}/hls/{file}.
type Server struct {
	cfg Config
	log *slog.Logger

	viewers *audience

	mu     sync.Mutex
	muxers map[string]*Muxer
	closed bool
}

// New returns a server; Run (or Close) ends its muxers.
func New(cfg Config) (*Server, error) {
	if cfg.Rooms == nil {
		return nil, errors.New("hls: no rooms")
	}
	if cfg.TokenRequired && cfg.Issuer == nil {
		return nil, errors.New("hls: token required but no issuer")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	if cfg.ViewerTimeout <= 0 {
		cfg.ViewerTimeout = max(3*cfg.Muxer.SegmentDuration, 3*time.Second)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Server{cfg: cfg, log: cfg.Log, muxers: map[string]*Muxer{},
		viewers: newAudience(cfg.Watch, cfg.ViewerTimeout)}, nil
}

// Viewers is the number of distinct clients that fetched room's playlists
// or segments within the viewer timeout.
func (s *Server) Viewers(room string) int { return s.viewers.count(room) }

// Routes registers the HLS paths on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /rooms/{room}/hls/{file}", s.serve)
}

// Run waits for ctx and then closes every muxer.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.Close()
	return nil
}

// Close stops every muxer and lets every viewer leave; later requests get 503.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	muxers := s.muxers
	s.muxers = map[string]*Muxer{}
	s.mu.Unlock()
	for _, m := range muxers {
		m.Close()
	}
	s.viewers.close()
}

// Muxers is the number of rooms with a running muxer.
func (s *Server) Muxers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.muxers {
		select {
		case <-m.Done():
		default:
			n++
		}
	}
	return n
}

// Muxer returns the room's running muxer, starting one if needed.
func (s *Server) Muxer(room string) (*Muxer, error) {
	src, ok := s.cfg.Rooms.Source(room)
	if !ok {
		return nil, fmt.Errorf("room %q: %w", room, ErrNoSuchRoom)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if m, ok := s.muxers[room]; ok {
		select {
		case <-m.Done(): // the room closed (and maybe reopened): start again
		default:
			return m, nil
		}
	}
	cfg := s.cfg.Muxer
	cfg.Room, cfg.Source, cfg.Log = room, src, s.log
	m, err := NewMuxer(cfg)
	if err != nil {
		return nil, err
	}
	s.muxers[room] = m
	return m, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// Players on another origin may read the stream (the token, when one
	// is required, is in the URL): pages of any node of a cluster, where a
	// request to a node that does not own the room is redirected.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	room := r.PathValue("room")
	if s.cfg.TokenRequired {
		tok := r.URL.Query().Get("token")
		if tok == "" {
			tok = auth.BearerToken(r.Header.Get("Authorization"))
		}
		if _, err := s.cfg.Issuer.Authorize(tok, room, auth.RoleView); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, auth.ErrWrongRoom) || errors.Is(err, auth.ErrWrongRole) {
				status = http.StatusForbidden
			}
			writeError(w, status, err.Error())
			return
		}
	}
	m, err := s.Muxer(room)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoSuchRoom):
			writeError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, ErrNoVideo):
			writeError(w, http.StatusConflict, err.Error())
		default:
			writeError(w, http.StatusServiceUnavailable, err.Error())
		}
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
	err = m.WaitReady(ctx)
	cancel()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	cw := &cacheWriter{ResponseWriter: w}
	m.ServeHTTP(cw, r)
	if !cw.wrote {
		writeError(w, http.StatusNotFound, "no such hls file: "+r.PathValue("file"))
		return
	}
	if cw.status < 300 {
		s.viewers.touch(room, clientID(r), m, time.Now())
	}
}
