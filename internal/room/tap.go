package room

import (
	"fmt"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Tap attaches tap to every track of the room, present and future, under
// key (a recording id) until Untap.
func (r *Room) Tap(key string, tap TrackTap) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("room %s: %w", r.name, ErrClosed)
	}
	if _, ok := r.taps[key]; ok {
		r.mu.Unlock()
		return fmt.Errorf("room %s: tap %s: %w", r.name, key, ErrTapExists)
	}
	r.taps[key] = tap
	tracks := make([]*tee, 0, len(r.tracks))
	for t := range r.tracks {
		tracks = append(tracks, t)
	}
	r.mu.Unlock()
	for _, t := range tracks {
		r.attachTap(t, key, tap)
	}
	return nil
}

// Untap detaches the tap registered under key and closes its sinks (each
// track file finished) before returning.
func (r *Room) Untap(key string) {
	r.mu.Lock()
	delete(r.taps, key)
	tracks := make([]*tee, 0, len(r.tracks))
	for t := range r.tracks {
		tracks = append(tracks, t)
	}
	r.mu.Unlock()
	sinks := map[string]media.TrackSink{}
	for _, t := range tracks {
		if s := t.detach(key); s != nil {
			sinks[t.info.Participant+"/"+t.info.TrackID] = s
		}
	}
	closeAll(sinks, r.log)
}

// attachTap gives the tap a sink for track t. A tap removed meanwhile (Untap
// raced with a new track) gets its sink closed again at once.
func (r *Room) attachTap(t *tee, key string, tap TrackTap) {
	sink, err := tap.AddTrack(t.info)
	if err != nil {
		r.log.Warn("track tap refused a track", "tap", key, "participant", t.info.Participant, "track", t.info.TrackID, "err", err)
		return
	}
	if !t.attach(key, sink) {
		_ = sink.Close()
		return
	}
	r.mu.Lock()
	_, still := r.taps[key]
	r.mu.Unlock()
	if !still {
		if s := t.detach(key); s != nil {
			_ = s.Close()
		}
		return
	}
	if t.info.Kind == media.Video && t.requestKeyframe != nil {
		t.requestKeyframe() // a file that starts mid-stream starts decodable
	}
}
