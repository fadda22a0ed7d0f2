// Package room is the registry of live rooms: each room owns one mixer, knows
// its participants and viewers, and is what ingest publishes into and views.
package room

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s can name a room.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Mixer is what a room needs from its mixer.
type Mixer interface {
	AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error)
	Output() *media.Stream
	Info() media.StreamInfo
	RequestKeyframe()
	SetLayout(mixer.Layout) error
	Close(ctx context.Context) error
}

// Participant is a publisher in a room.
type Participant struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	JoinedAt time.Time `json:"joined_at"`
	Tracks   []string  `json:"tracks"`
}

// Info is a room's state for the API.
type Info struct {
	Name         string        `json:"name"`
	CreatedAt    time.Time     `json:"created_at"`
	Participants []Participant `json:"participants"`
	Viewers      int           `json:"viewers"`
	Layout       mixer.Layout  `json:"layout"`
	Recordings   []string      `json:"recordings"`
}

// Room is one live room.
type Room struct {
	name    string
	created time.Time
	mixer   Mixer
	log     *slog.Logger
	reg     *Registry

	mu           sync.Mutex
	participants map[string]*Participant
	viewers      map[string]struct{}
	holds        map[string]struct{} // recordings (or others) keeping the room open
	tracks       map[*tee]struct{}   // published tracks, live
	taps         map[string]TrackTap // raw-track recorders of running recordings
	layout       mixer.Layout
	emptySince   time.Time
	closed       bool
}

// Name of the room.
func (r *Room) Name() string { return r.name }

// Mixer of the room.
func (r *Room) Mixer() Mixer { return r.mixer }

// Output is the room's encoded composite.
func (r *Room) Output() *media.Stream { return r.mixer.Output() }

// StreamInfo describes the composite's streams.
func (r *Room) StreamInfo() media.StreamInfo { return r.mixer.Info() }

// RequestKeyframe asks the room's encoder for a keyframe.
func (r *Room) RequestKeyframe() { r.mixer.RequestKeyframe() }

// AddTrack implements ingest.Room. The returned sink feeds the mixer and
// every tap (running recordings' raw-track recorders).
func (r *Room) AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error) {
	sink, err := r.mixer.AddTrack(info, requestKeyframe)
	if err != nil {
		return nil, err
	}
	t := newTee(info, sink, requestKeyframe, r.log.With("participant", info.Participant, "track", info.TrackID), r.trackEnded)
	r.mu.Lock()
	if p, ok := r.participants[info.Participant]; ok {
		p.Tracks = append(p.Tracks, string(info.Kind)+":"+info.MimeType)
	}
	r.tracks[t] = struct{}{}
	taps := make(map[string]TrackTap, len(r.taps))
	for k, tap := range r.taps {
		taps[k] = tap
	}
	r.mu.Unlock()
	for key, tap := range taps {
		r.attachTap(t, key, tap)
	}
	r.reg.emit(Event{Type: "track_added", Room: r.name, Participant: info.Participant, Kind: string(info.Kind)})
	return t, nil
}

func (r *Room) trackEnded(t *tee) {
	r.mu.Lock()
	delete(r.tracks, t)
	r.mu.Unlock()
}

// Leave implements ingest.Room.
func (r *Room) Leave(participantID string) {
	r.mu.Lock()
	p, ok := r.participants[participantID]
	delete(r.participants, participantID)
	r.touchLocked()
	r.mu.Unlock()
	if ok {
		r.log.Info("participant left", "participant", participantID, "name", p.Name)
		r.reg.emit(Event{Type: "participant_left", Room: r.name, Participant: participantID, Name: p.Name})
	}
}

// SetLayout changes the composite's layout while it plays.
func (r *Room) SetLayout(l mixer.Layout) error {
	if err := r.mixer.SetLayout(l); err != nil {
		return err
	}
	r.mu.Lock()
	r.layout = l
	r.mu.Unlock()
	r.reg.emit(Event{Type: "layout_changed", Room: r.name})
	return nil
}

// Hold keeps the room open (for example while a recording runs) until
// Release with the same key.
func (r *Room) Hold(key string) {
	r.mu.Lock()
	r.holds[key] = struct{}{}
	r.mu.Unlock()
}

// Release drops a Hold.
func (r *Room) Release(key string) {
	r.mu.Lock()
	delete(r.holds, key)
	r.touchLocked()
	r.mu.Unlock()
}

// Empty reports whether nobody publishes in the room, and since when.
func (r *Room) Empty() (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.participants) == 0, r.emptySince
}

func (r *Room) touchLocked() {
	if len(r.participants) == 0 && len(r.viewers) == 0 && r.emptySince.IsZero() {
		r.emptySince = time.Now()
	}
}

func (r *Room) idle(now time.Time, timeout time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.participants) == 0 && len(r.viewers) == 0 && len(r.holds) == 0 &&
		!r.emptySince.IsZero() && now.Sub(r.emptySince) >= timeout
}

// Info returns the room's state.
func (r *Room) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Info{Name: r.name, CreatedAt: r.created, Viewers: len(r.viewers), Layout: r.layout,
		Participants: []Participant{}, Recordings: []string{}}
	for _, p := range r.participants {
		cp := *p
		cp.Tracks = append([]string{}, p.Tracks...)
		in.Participants = append(in.Participants, cp)
	}
	sort.Slice(in.Participants, func(i, j int) bool { return in.Participants[i].JoinedAt.Before(in.Participants[j].JoinedAt) })
	for k := range r.holds {
		in.Recordings = append(in.Recordings, k)
	}
	sort.Strings(in.Recordings)
	return in
}

// viewer is one WHEP viewer's handle on the room.
type viewer struct {
	room *Room
	id   string
	once sync.Once
}

func (v *viewer) Output() *media.Stream { return v.room.mixer.Output() }
func (v *viewer) RequestKeyframe()      { v.room.mixer.RequestKeyframe() }
func (v *viewer) Leave() {
	v.once.Do(func() {
		v.room.mu.Lock()
		delete(v.room.viewers, v.id)
		v.room.touchLocked()
		v.room.mu.Unlock()
	})
}

var _ ingest.Live = (*viewer)(nil)
var _ ingest.Room = (*Room)(nil)

func (r *Room) join(p ingest.Participant) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("room %s is closing: %w", r.name, ErrClosed)
	}
	if r.reg.cfg.MaxParticipants > 0 && len(r.participants) >= r.reg.cfg.MaxParticipants {
		return fmt.Errorf("%w: %d participants", ingest.ErrRoomFull, len(r.participants))
	}
	r.participants[p.ID] = &Participant{ID: p.ID, Name: p.Name, JoinedAt: time.Now(), Tracks: []string{}}
	r.emptySince = time.Time{}
	return nil
}
