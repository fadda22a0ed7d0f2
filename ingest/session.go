package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// Session kinds.
const (
	KindPublisher = "publisher"
	KindViewer    = "viewer"
)

// session is one PeerConnection and the goroutines that serve it. Its run
// goroutine owns the teardown: when ctx ends (DELETE, server close, or the
// connection failing) it closes the PeerConnection, waits for every worker
// goroutine, runs onEnd and removes the session from the server.
type session struct {
	id          string
	room        string
	kind        string
	participant string
	name        string
	started     time.Time
	pc          *webrtc.PeerConnection
	log         *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	workMu  sync.Mutex
	closing bool
	work    sync.WaitGroup

	mu          sync.Mutex
	etag        string
	remoteUfrag string

	tracks  atomic.Int32
	packets atomic.Uint64
	bytes   atomic.Uint64

	// rtp reads pion's per-SSRC stream statistics; meter keeps the
	// session's streams and their bitrates.
	rtp   stats.Getter
	meter meter
	final SessionStats // the last stats, taken as the session ends

	// onEnd runs once after the PeerConnection is closed and every worker
	// has returned (Leave of the room or the live view).
	onEnd func()
	// connected is closed when the PeerConnection first connects.
	connected     chan struct{}
	connectedOnce sync.Once
}

func newSession(kind, room string, pc *webrtc.PeerConnection, rtp stats.Getter, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		id: newID(), room: room, kind: kind, started: time.Now(), pc: pc, rtp: rtp,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), etag: newETag(),
		connected: make(chan struct{}),
	}
	s.participant = s.id
	s.log = log.With("room", room, "session", s.id, "kind", kind)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.connectedOnce.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.cancel()
		}
	})
	return s
}

// spawn runs f as a worker of the session unless the session is ending; it
// reports whether f was started.
func (s *session) spawn(f func()) bool {
	s.workMu.Lock()
	defer s.workMu.Unlock()
	if s.closing {
		return false
	}
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f()
	}()
	return true
}

// connectTimeout ends a session whose PeerConnection never connects (a
// client that posted an offer and vanished, or trickled no candidate).
const connectTimeout = 30 * time.Second

// run waits for the session's end and tears it down; remove unregisters it.
func (s *session) run(remove func(*session)) {
	defer close(s.done)
	t := time.NewTimer(connectTimeout)
	select {
	case <-s.connected:
	case <-s.ctx.Done():
	case <-t.C:
		s.log.Warn("session never connected", "timeout", connectTimeout)
		s.cancel()
	}
	t.Stop()
	<-s.ctx.Done()
	s.final = s.stats()
	s.workMu.Lock()
	s.closing = true
	s.workMu.Unlock()
	if err := s.pc.Close(); err != nil {
		s.log.Warn("close peer connection", "err", err)
	}
	s.work.Wait()
	if s.onEnd != nil {
		s.onEnd()
	}
	remove(s)
	s.log.Info("session ended", "duration", time.Since(s.started).Round(time.Millisecond),
		"packets", s.packets.Load())
}

// abort drops a session whose run goroutine never started.
func (s *session) abort() {
	s.cancel()
	_ = s.pc.Close()
}

// close ends the session and waits until it is gone.
func (s *session) close() {
	s.cancel()
	<-s.done
}

func (s *session) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newETag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return `"` + hex.EncodeToString(b) + `"`
}
