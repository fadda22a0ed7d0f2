// Package ingest terminates WebRTC for Mosaic: WHIP publishers hand their
// tracks to a room, WHEP viewers receive a room's live composite. Every
// session shares one pion API and one media port.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// gatherTimeout bounds ICE candidate gathering before an answer is sent.
const gatherTimeout = 10 * time.Second

// Server serves WHIP and WHEP sessions.
type Server struct {
	cfg  Config
	log  *slog.Logger
	t    *transport
	turn *turnServer

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	// retired sums the counters of ended sessions per room and kind, so
	// the exported counters never go down.
	retired map[metricKey]*counters
}

// New binds the media port and returns a server ready for Routes.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t, err := newTransport(cfg.MediaPort, cfg.PublicIPs, cfg.Log.With("component", "ingest"))
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var ts *turnServer
	if cfg.TURN != nil {
		if ts, err = startTURN(*cfg.TURN, cfg.PublicIPs, cfg.Log.With("component", "ingest")); err != nil {
			_ = t.close()
			return nil, fmt.Errorf("ingest: %w", err)
		}
	}
	s := &Server{cfg: cfg, turn: ts, log: cfg.Log.With("component", "ingest"), t: t, sessions: map[string]*session{}, retired: map[metricKey]*counters{}}
	s.log.Info("media port open", "port", t.port)
	return s, nil
}

// TURNPort is the built-in TURN server's UDP port, 0 without one.
func (s *Server) TURNPort() int {
	if s.turn == nil {
		return 0
	}
	return s.turn.port
}

// MediaPort is the UDP (and ICE-TCP) port every session uses.
func (s *Server) MediaPort() int { return s.t.port }

// Close ends every session, waits for their goroutines and closes the
// media port.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, ss := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss.close()
		}()
	}
	wg.Wait()
	return errors.Join(s.turn.close(), s.t.close())
}

// newSession returns a session on a new PeerConnection of the shared API,
// unless the server is closed.
func (s *Server) newSession(kind, room string) (*session, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	pc, rtp, err := s.t.newPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	return newSession(kind, room, pc, rtp, s.log), nil
}

// admit registers a negotiated session and starts its owner goroutine. On a
// closed server it tears the session down instead.
func (s *Server) admit(ss *session) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ss.cancel()
		ss.run(func(*session) {})
		return ErrClosed
	}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	ss.spawn(func() { ss.meter.run(ss.rtp, ss.kind == KindPublisher, ss.ctx.Done()) })
	go ss.run(s.remove)
	ss.log.Info("session started", "participant", ss.participant, "name", ss.name)
	return nil
}

func (s *Server) remove(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
		s.retire(ss.final)
	}
}

// lookup finds the session of a resource URL.
func (s *Server) lookup(room, kind, id string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok || ss.room != room || ss.kind != kind {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchSession, id)
	}
	return ss, nil
}

// answer applies the remote offer's answer and waits for ICE gathering, so
// the returned SDP carries every candidate.
func answer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformedOffer, err) // the offer decides what can be answered
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("%w: answer not applicable: %v", ErrMalformedOffer, err)
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", errors.New("ICE gathering timed out")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return "", errors.New("no local description")
	}
	return ld.SDP, nil
}
