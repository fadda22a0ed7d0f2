package hls

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Source is a room's encoded composite as the muxer needs it.
type Source interface {
	Output() *media.Stream
	StreamInfo() media.StreamInfo
}

// MuxerConfig configures one room's HLS muxer. Zero values take defaults.
type MuxerConfig struct {
	Room   string
	Source Source
	// SegmentCount is the sliding window (default 7, the LL-HLS minimum).
	SegmentCount int
	// SegmentDuration is the minimum segment length; a segment always starts
	// on a keyframe, so it is the encoder's keyframe interval in practice
	// (default 1s).
	SegmentDuration time.Duration
	// PartDuration is the minimum LL-HLS part length (default 200ms).
	PartDuration time.Duration
	Log          *slog.Logger
}

func (c *MuxerConfig) defaults() {
	if c.SegmentCount < 7 {
		c.SegmentCount = 7
	}
	if c.SegmentDuration <= 0 {
		c.SegmentDuration = time.Second
	}
	if c.PartDuration <= 0 {
		c.PartDuration = 200 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Muxer turns one room's composite (H264 + AAC) into fMP4 Low-Latency HLS.
// One goroutine reads the room's output and writes the segments; it ends
// when the room's output closes or on Close.
type Muxer struct {
	cfg   MuxerConfig
	log   *slog.Logger
	stop  chan struct{}
	done  chan struct{}
	ready chan struct{}
	once  sync.Once

	mu  sync.Mutex
	hls *gohlslib.Muxer // set once, before ready is closed
	err error           // why the muxer ended
}

// NewMuxer starts a muxer reading cfg.Source.
func NewMuxer(cfg MuxerConfig) (*Muxer, error) {
	cfg.defaults()
	if cfg.Source == nil {
		return nil, fmt.Errorf("hls muxer %s: no source", cfg.Room)
	}
	if c := cfg.Source.StreamInfo().VideoCodec; c != media.H264 {
		return nil, fmt.Errorf("%w: room %s encodes %s", ErrNoVideo, cfg.Room, c)
	}
	m := &Muxer{cfg: cfg, log: cfg.Log.With("room", cfg.Room, "part", "hls"),
		stop: make(chan struct{}), done: make(chan struct{}), ready: make(chan struct{})}
	rd := cfg.Source.Output().Subscribe("hls", 1024)
	go m.run(rd)
	return m, nil
}

// Done is closed when the muxer has stopped.
func (m *Muxer) Done() <-chan struct{} { return m.done }

// Err is why the muxer stopped (nil while it runs or after Close).
func (m *Muxer) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// WaitReady blocks until the first keyframe has started the stream.
func (m *Muxer) WaitReady(ctx context.Context) error {
	select {
	case <-m.ready:
		return nil
	case <-m.done:
		if err := m.Err(); err != nil {
			return err
		}
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
	}
}

// ServeHTTP serves the playlists, init file, segments and parts. Callers
// wait for WaitReady first.
func (m *Muxer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-m.ready:
	default:
		http.Error(w, "stream not ready", http.StatusServiceUnavailable)
		return
	}
	m.hls.Handle(w, r)
}

// Close stops the muxer and waits for its goroutine.
func (m *Muxer) Close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}

func (m *Muxer) run(rd *media.Reader) {
	defer close(m.done)
	defer rd.Close()
	w := &writer{cfg: m.cfg, log: m.log}
	defer func() {
		if w.hls != nil {
			w.hls.Close()
		}
	}()
	for {
		select {
		case <-m.stop:
			return
		case s, ok := <-rd.C:
			if !ok {
				m.log.Info("room output ended")
				return
			}
			started := w.hls != nil
			if err := w.write(s); err != nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				m.log.Error("hls muxer stopped", "err", err)
				return
			}
			if !started && w.hls != nil {
				m.hls = w.hls
				close(m.ready)
				m.log.Info("hls stream started")
			}
		}
	}
}

// writer is the owner goroutine's state: the gohlslib muxer, its tracks
// and the time base (the first keyframe's PTS).
type writer struct {
	cfg    MuxerConfig
	log    *slog.Logger
	hls    *gohlslib.Muxer
	video  *gohlslib.Track
	audio  *gohlslib.Track
	base   time.Duration
	errors atomic.Int64
}

func (w *writer) write(s media.Sample) error {
	switch {
	case s.Kind == media.Video && s.Codec == media.H264:
		var au h264.AnnexB
		if err := au.Unmarshal(s.Data); err != nil {
			return w.encodeError(fmt.Errorf("h264 access unit: %w", err))
		}
		if w.hls == nil {
			if !s.Keyframe {
				return nil
			}
			if err := w.start(au, s.PTS); err != nil || w.hls == nil {
				return err // nil: no SPS/PPS yet, wait for the next keyframe
			}
		}
		if s.PTS < w.base {
			return nil
		}
		pts := durationTo(s.PTS-w.base, 90000)
		return w.encodeError(w.hls.WriteH264(w.video, time.Now(), pts, au))
	case s.Kind == media.Audio && s.Codec == media.AAC:
		if w.hls == nil || w.audio == nil || s.PTS < w.base {
			return nil
		}
		pts := durationTo(s.PTS-w.base, w.audio.ClockRate)
		return w.encodeError(w.hls.WriteMPEG4Audio(w.audio, time.Now(), pts, [][]byte{s.Data}))
	}
	return nil
}

// encodeError logs a bad sample (the first few) and carries on: one
// damaged access unit must not end the stream.
func (w *writer) encodeError(err error) error {
	if err == nil {
		return nil
	}
	n := w.errors.Add(1)
	if n <= 5 || n%100 == 0 {
		w.log.Warn("hls sample dropped", "err", err, "count", n)
	}
	return nil
}

// start makes the gohlslib muxer from the first keyframe's SPS/PPS and the
// AAC configuration.
func (w *writer) start(au h264.AnnexB, pts time.Duration) error {
	vc := &codecs.H264{}
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			vc.SPS = append([]byte(nil), n...)
		case h264.NALUTypePPS:
			vc.PPS = append([]byte(nil), n...)
		}
	}
	if vc.SPS == nil || vc.PPS == nil {
		return w.encodeError(fmt.Errorf("keyframe without SPS/PPS"))
	}
	w.video = &gohlslib.Track{Codec: vc, ClockRate: 90000}
	tracks := []*gohlslib.Track{w.video}
	info := w.cfg.Source.StreamInfo()
	if len(info.AudioConfig) > 0 {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(info.AudioConfig); err != nil {
			w.log.Warn("hls without audio: bad AudioSpecificConfig", "err", err)
		} else {
			w.audio = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: asc}, ClockRate: asc.SampleRate}
			tracks = append(tracks, w.audio)
		}
	}
	mx := &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       w.cfg.SegmentCount,
		SegmentMinDuration: w.cfg.SegmentDuration,
		PartMinDuration:    w.cfg.PartDuration,
		OnEncodeError:      func(err error) { _ = w.encodeError(err) },
	}
	if err := mx.Start(); err != nil {
		return fmt.Errorf("start hls muxer: %w", err)
	}
	w.hls, w.base = mx, pts
	return nil
}

func durationTo(d time.Duration, clockRate int) int64 {
	secs := int64(d / time.Second)
	rest := int64(d % time.Second)
	return secs*int64(clockRate) + rest*int64(clockRate)/int64(time.Second)
}
