package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// Config of the registry.
type Config struct {
	// NewMixer makes a room's mixer; by default mixer.New with Mixer.
	NewMixer func(room string) (Mixer, error)
	// Mixer is the template configuration for every room's mixer.
	Mixer mixer.Config
	// IdleTimeout closes a room nobody publishes in, views or records.
	IdleTimeout     time.Duration
	MaxParticipants int
	Log             *slog.Logger
}

// Event is something that happened in a room (for the room's event feed).
type Event struct {
	Type        string    `json:"type"`
	Room        string    `json:"room"`
	Participant string    `json:"participant,omitempty"`
	Name        string    `json:"name,omitempty"`
	Kind        string    `json:"kind,omitempty"`
	Recording   string    `json:"recording,omitempty"`
	Time        time.Time `json:"time"`
}

// Registry holds the rooms this node serves.
type Registry struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*Room
	subs   map[chan Event]string
	closed bool

	stop chan struct{}
	done chan struct{}
}

// New starts a registry; Close stops it and its rooms.
func New(cfg Config) *Registry {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	var reg *Registry
	if cfg.NewMixer == nil {
		tmpl := cfg.Mixer
		cfg.NewMixer = func(room string) (Mixer, error) {
			c := tmpl
			c.Room = room
			c.Log = cfg.Log // the mixer adds the room itself
			c.OnActiveSpeaker = func(participant string) {
				reg.emit(Event{Type: "active_speaker", Room: room, Participant: participant})
			}
			return mixer.New(c)
		}
	}
	r := &Registry{cfg: cfg, log: cfg.Log, rooms: map[string]*Room{}, subs: map[chan Event]string{},
		stop: make(chan struct{}), done: make(chan struct{})}
	reg = r
	go r.reap()
	return r
}

// Open returns the named room, creating it (and its mixer) if needed.
func (g *Registry) Open(name string) (*Room, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if r, ok := g.rooms[name]; ok {
		return r, nil
	}
	m, err := g.cfg.NewMixer(name)
	if err != nil {
		return nil, fmt.Errorf("room %s: start mixer: %w", name, err)
	}
	r := &Room{name: name, created: time.Now(), mixer: m, log: g.log.With("room", name), reg: g,
		participants: map[string]*Participant{}, viewers: map[string]struct{}{}, holds: map[string]struct{}{},
		tracks: map[*tee]struct{}{}, taps: map[string]TrackTap{},
		layout: g.cfg.Mixer.Layout, emptySince: time.Now()}
	g.rooms[name] = r
	r.log.Info("room opened")
	go g.emit(Event{Type: "room_opened", Room: name})
	return r, nil
}

// Get returns a live room.
func (g *Registry) Get(name string) (*Room, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.rooms[name]
	return r, ok
}

// List returns every room's info, by name.
func (g *Registry) List() []Info {
	g.mu.Lock()
	rooms := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		rooms = append(rooms, r)
	}
	g.mu.Unlock()
	out := make([]Info, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, r.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Join implements ingest.Rooms.
func (g *Registry) Join(ctx context.Context, name string, p ingest.Participant) (ingest.Room, error) {
	r, err := g.Open(name)
	if err != nil {
		return nil, err
	}
	if err := r.join(p); err != nil {
		return nil, err
	}
	r.log.Info("participant joined", "participant", p.ID, "name", p.Name)
	g.emit(Event{Type: "participant_joined", Room: name, Participant: p.ID, Name: p.Name})
	r.mixer.RequestKeyframe()
	return r, nil
}

// Watch implements ingest.Rooms.
func (g *Registry) Watch(ctx context.Context, name, viewerID string) (ingest.Live, error) {
	r, ok := g.Get(name)
	if !ok {
		return nil, fmt.Errorf("room %q: %w", name, ingest.ErrNoSuchRoom)
	}
	r.mu.Lock()
	r.viewers[viewerID] = struct{}{}
	r.emptySince = time.Time{}
	r.mu.Unlock()
	return &viewer{room: r, id: viewerID}, nil
}

// CloseRoom stops a room's mixer (EOS first) and forgets it.
func (g *Registry) CloseRoom(ctx context.Context, name string) error {
	g.mu.Lock()
	r, ok := g.rooms[name]
	delete(g.rooms, name)
	g.mu.Unlock()
	if !ok {
		return fmt.Errorf("room %q: %w", name, ingest.ErrNoSuchRoom)
	}
	return g.closeRoom(ctx, r)
}

func (g *Registry) closeRoom(ctx context.Context, r *Room) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err := r.mixer.Close(ctx)
	r.log.Info("room closed", "err", err)
	g.emit(Event{Type: "room_closed", Room: r.name})
	return err
}

func (g *Registry) reap() {
	defer close(g.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			g.mu.Lock()
			var idle []*Room
			for name, r := range g.rooms {
				if r.idle(now, g.cfg.IdleTimeout) {
					idle = append(idle, r)
					delete(g.rooms, name)
				}
			}
			g.mu.Unlock()
			for _, r := range idle {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = g.closeRoom(ctx, r)
				cancel()
			}
		}
	}
}

// Close stops every room (each mixer sends EOS first) and the registry.
func (g *Registry) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	rooms := g.rooms
	g.rooms = map[string]*Room{}
	g.mu.Unlock()
	close(g.stop)
	<-g.done
	var errs []error
	for _, r := range rooms {
		errs = append(errs, g.closeRoom(ctx, r))
	}
	g.mu.Lock()
	for c := range g.subs {
		close(c)
		delete(g.subs, c)
	}
	g.mu.Unlock()
	return errors.Join(errs...)
}

// Subscribe returns a channel of events for room ("" for all rooms); cancel
// removes it. Slow subscribers miss events rather than block rooms.
func (g *Registry) Subscribe(room string) (<-chan Event, func()) {
	c := make(chan Event, 64)
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		close(c)
		return c, func() {}
	}
	g.subs[c] = room
	g.mu.Unlock()
	return c, func() {
		g.mu.Lock()
		if _, ok := g.subs[c]; ok {
			delete(g.subs, c)
			close(c)
		}
		g.mu.Unlock()
	}
}

func (g *Registry) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for c, room := range g.subs {
		if room != "" && room != e.Room {
			continue
		}
		select {
		case c <- e:
		default:
		}
	}
}

// Emit publishes an event (recording started/stopped, for example).
func (g *Registry) Emit(e Event) { g.emit(e) }
