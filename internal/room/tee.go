package room

import (
	"log/slog"
	"sync"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// TrackTap receives a copy of every track published in a room, those
// present when it is attached and those added later (a recording's raw
// track recorder). Each sink it returns gets the track's packets and sender
// reports and is closed when the track ends or the tap is detached.
type TrackTap interface {
	AddTrack(info media.TrackInfo) (media.TrackSink, error)
}

// tee is the sink a room hands to ingest for one track: every packet goes to
// the mixer and to the taps' sinks. A failing tap sink is dropped, never
// the mixer's.
type tee struct {
	info            media.TrackInfo
	mixer           media.TrackSink
	requestKeyframe func() // asks the publisher for a keyframe (may be nil)
	log             *slog.Logger
	onEnd           func(*tee)

	mu     sync.Mutex
	taps   map[string]media.TrackSink
	closed bool
}

func newTee(info media.TrackInfo, mixer media.TrackSink, requestKeyframe func(), log *slog.Logger, onEnd func(*tee)) *tee {
	return &tee{info: info, mixer: mixer, requestKeyframe: requestKeyframe, log: log, onEnd: onEnd,
		taps: map[string]media.TrackSink{}}
}

// WriteRTP implements media.TrackSink.
func (t *tee) WriteRTP(packet []byte) error {
	t.mu.Lock()
	for key, s := range t.taps {
		if err := s.WriteRTP(packet); err != nil {
			t.log.Warn("track tap dropped", "tap", key, "err", err)
			delete(t.taps, key)
			go s.Close()
		}
	}
	t.mu.Unlock()
	return t.mixer.WriteRTP(packet)
}

// DesiredSize implements media.SizeHinter with the mixer's tile for the
// track, so that ingest forwards the simulcast layer that fits it; -1×-1
// (no preference) when the mixer's sink does not say.
func (t *tee) DesiredSize() (width, height int) {
	if h, ok := t.mixer.(media.SizeHinter); ok {
		return h.DesiredSize()
	}
	return -1, -1
}

// WriteSenderReport implements media.TrackSink.
func (t *tee) WriteSenderReport(sr media.SenderReport) {
	t.mu.Lock()
	for _, s := range t.taps {
		s.WriteSenderReport(sr)
	}
	t.mu.Unlock()
	t.mixer.WriteSenderReport(sr)
}

// Close ends the track: the taps' sinks are closed, then the mixer's.
func (t *tee) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	taps := t.taps
	t.taps = map[string]media.TrackSink{}
	t.mu.Unlock()
	t.onEnd(t)
	closeAll(taps, t.log)
	return t.mixer.Close()
}

// attach adds a tap's sink; false if the track has ended already or the
// key has a sink.
func (t *tee) attach(key string, s media.TrackSink) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.taps[key]; dup || t.closed {
		return false
	}
	t.taps[key] = s
	return true
}

// detach removes a tap's sink and returns it (nil if none).
func (t *tee) detach(key string) media.TrackSink {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.taps[key]
	delete(t.taps, key)
	return s
}

func closeAll(sinks map[string]media.TrackSink, log *slog.Logger) {
	var wg sync.WaitGroup
	for key, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Close(); err != nil {
				log.Warn("close track tap", "tap", key, "err", err)
			}
		}()
	}
	wg.Wait()
}
