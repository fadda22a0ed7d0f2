// Package recording runs a node's recordings: it connects a room's composite
// to a segment recorder, records each closed segment in the catalog and
// queues its upload, and after a stop (or a crash and restart) queues the
// recording's finalization.
package recording

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
)

var (
	ErrNoSuchRoom   = errors.New("no such room")
	ErrNotRecording = errors.New("recording is not running on this node")
	ErrClosed       = errors.New("recording manager is closed")
)

const defaultFragmentDuration = 250 * time.Millisecond

// Config of a node's recording manager.
type Config struct {
	Dir             string // local segments: Dir/{recording-id}/seg-00001.mp4
	Node            string
	Rooms           *room.Registry
	Catalog         *catalog.Store
	Jobs            *jobs.Enqueuer
	SegmentDuration time.Duration
	// FragmentDuration is how much media a crash can lose at most in the
	// open segment (default 250 ms).
	FragmentDuration time.Duration
	// EmptyTimeout stops a recording whose room had nobody publishing for
	// this long (0: never).
	EmptyTimeout time.Duration
	// MaxDuration stops a recording after this long (0: no limit).
	MaxDuration time.Duration
	Log         *slog.Logger
}

// Options of a new recording.
type Options struct {
	Tracks bool `json:"tracks"`
}

// Manager owns the recordings running on this node.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	active map[string]*session
	closed bool

	stop chan struct{}
	done chan struct{}
}

// New starts a manager (its watchdog stops recordings at their limits).
func New(cfg Config) (*Manager, error) {
	if cfg.Rooms == nil || cfg.Catalog == nil || cfg.Jobs == nil {
		return nil, errors.New("recording: Rooms, Catalog and Jobs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.FragmentDuration <= 0 {
		cfg.FragmentDuration = defaultFragmentDuration
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("recording dir: %w", err)
	}
	m := &Manager{cfg: cfg, log: cfg.Log, active: map[string]*session{}, stop: make(chan struct{}), done: make(chan struct{})}
	go m.watch()
	return m, nil
}

// SegmentKey is the object key of a recording's segment.
func SegmentKey(roomName, id string, index int) string {
	return fmt.Sprintf("recordings/%s/%s/seg-%05d.mp4", roomName, id, index)
}

// Start begins recording the room's composite.
func (m *Manager) Start(ctx context.Context, roomName string, opts Options) (*catalog.Recording, error) {
	r, ok := m.cfg.Rooms.Get(roomName)
	if !ok {
		return nil, fmt.Errorf("room %q: %w", roomName, ErrNoSuchRoom)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.mu.Unlock()

	info, err := waitStreamInfo(ctx, r)
	if err != nil {
		return nil, err
	}
	rec := &catalog.Recording{
		ID: catalog.NewID(), Room: roomName, Node: m.cfg.Node, State: catalog.StateRecording,
		Tracks: opts.Tracks, StartedAt: time.Now().UTC(),
	}
	dir := filepath.Join(m.cfg.Dir, rec.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("recording dir: %w", err)
	}
	if err := m.cfg.Catalog.Create(ctx, rec); err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	s := &session{m: m, id: rec.ID, room: r, started: time.Now(), done: make(chan struct{})}
	rc, err := recorder.New(recorder.Config{
		Dir: dir, Info: info, SegmentDuration: m.cfg.SegmentDuration, FragmentDuration: m.cfg.FragmentDuration,
		OnSegment: s.onSegment, Log: m.log.With("recording", rec.ID, "room", roomName),
	})
	if err != nil {
		_, _ = m.cfg.Catalog.Update(context.Background(), rec.ID, func(x *catalog.Recording) error {
			x.State, x.Error = catalog.StateFailed, err.Error()
			return nil
		})
		return nil, fmt.Errorf("start recorder: %w", err)
	}
	s.rec = rc
	s.reader = r.Output().Subscribe("recording:"+rec.ID, 512)
	r.Hold(rec.ID)
	if opts.Tracks {
		if err := r.Tap(rec.ID, newTrackTap(s)); err != nil {
			m.log.Error("raw tracks not recorded", "recording", rec.ID, "err", err)
		} else {
			s.tracks = true
		}
	}
	m.mu.Lock()
	m.active[rec.ID] = s
	m.mu.Unlock()
	go s.pump()
	r.RequestKeyframe()
	m.log.Info("recording started", "recording", rec.ID, "room", roomName)
	m.cfg.Rooms.Emit(room.Event{Type: "recording_started", Room: roomName, Recording: rec.ID})
	return rec, nil
}

func waitStreamInfo(ctx context.Context, r *room.Room) (media.StreamInfo, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := r.StreamInfo()
		if len(info.AudioConfig) > 0 && info.Width > 0 {
			return info, nil
		}
		if time.Now().After(deadline) {
			return info, fmt.Errorf("room %s: composite stream not ready", r.Name())
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends a recording: the recorder finalizes its last segment, the
// recording becomes "uploading" and its finalization is queued.
func (m *Manager) Stop(ctx context.Context, id string) (*catalog.Recording, error) {
	m.mu.Lock()
	s, ok := m.active[id]
	delete(m.active, id)
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("recording %s: %w", id, ErrNotRecording)
	}
	return s.finish(ctx, "stopped")
}

// Active lists the recordings running on this node.
func (m *Manager) Active() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.active))
	for id := range m.active {
		ids = append(ids, id)
	}
	return ids
}

// Close stops every running recording (each finalized and queued) and the
// watchdog.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	all := m.active
	m.active = map[string]*session{}
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	var errs []error
	for _, s := range all {
		if _, err := s.finish(ctx, "shutdown"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) watch() {
	defer close(m.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.mu.Lock()
			var due []*session
			for id, s := range m.active {
				if reason := s.limit(now); reason != "" {
					s.reason = reason
					due = append(due, s)
					delete(m.active, id)
				}
			}
			m.mu.Unlock()
			for _, s := range due {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if _, err := s.finish(ctx, s.reason); err != nil {
					m.log.Error("auto-stop failed", "recording", s.id, "err", err)
				}
				cancel()
			}
		}
	}
}
