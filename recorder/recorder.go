package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Recorder writes the composite's H264 + AAC samples into segment files.
// Write may be called from any goroutine; one goroutine owns the pipeline's
// bus, announces segments and stops the pipeline; Close waits for it.
type Recorder struct {
	cfg  Config
	log  *slog.Logger
	p    *segmentPipeline
	done chan struct{} // closed when the owner goroutine is gone
	stop chan struct{} // closed to abandon a draining pipeline

	mu       sync.Mutex
	tl       timeline
	closing  bool
	err      error // why the pipeline stopped, nil after a clean EOS
	stopOnce sync.Once
	opened   map[string]time.Duration // location → running time at open
}

// New builds the pipeline and sets it playing.
func New(cfg Config) (*Recorder, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("recorder: create %s: %w", c.Dir, err)
	}
	p, err := buildSegmentPipeline(c)
	if err != nil {
		return nil, err
	}
	if err := startFed(p.pipeline); err != nil {
		_ = p.pipeline.SetState(gst.StateNull)
		return nil, err
	}
	r := &Recorder{
		cfg:    c,
		log:    c.Log.With("component", "recorder", "dir", c.Dir),
		p:      p,
		done:   make(chan struct{}),
		stop:   make(chan struct{}),
		opened: map[string]time.Duration{},
	}
	go r.run()
	return r, nil
}

// Write records one sample. H264 video and AAC audio are recorded, other
// codecs are ignored. Video before the first keyframe, audio before the
// frame nearest to it, and samples whose time goes backwards are dropped
// without error.
func (r *Recorder) Write(s media.Sample) error {
	var want media.Codec
	switch s.Kind {
	case media.Video:
		want = media.H264
	case media.Audio:
		want = media.AAC
	default:
		return nil
	}
	if s.Codec != want || (s.Kind == media.Audio && r.p.audio == nil) {
		return nil
	}
	if len(s.Data) == 0 {
		return fmt.Errorf("%w: empty %s sample", ErrSample, s.Kind)
	}
	if s.PTS < 0 || s.Duration < 0 {
		return fmt.Errorf("%w: negative time (pts %s, duration %s)", ErrSample, s.PTS, s.Duration)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing || r.err != nil {
		return r.closedErr()
	}
	if s.Kind == media.Audio {
		if !r.tl.started {
			r.tl.hold(s)
			return nil
		}
		pts, ok := r.tl.audio(s.PTS)
		if !ok {
			return nil
		}
		s.PTS = pts
		return r.pushAudio(s)
	}
	starting := !r.tl.started
	pts, dts, ok := r.tl.video(s.PTS, s.DTS, s.Keyframe)
	if !ok {
		return nil
	}
	buf := gst.NewBufferFromBytes(s.Data)
	buf.SetPresentationTimestamp(gst.ClockTime(pts))
	setDTS(buf, gst.ClockTime(dts))
	if !s.Keyframe {
		buf.SetFlags(gst.BufferFlagDeltaUnit)
	}
	if s.Duration > 0 {
		buf.SetDuration(gst.ClockTime(s.Duration))
	}
	if ret := r.p.video.PushBuffer(buf); ret != gst.FlowOK {
		return fmt.Errorf("%w: video: %s", ErrPush, ret)
	}
	if starting {
		for _, a := range r.tl.held() {
			if err := r.pushAudio(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// pushAudio hands one audio sample, already rebased, to the muxer.
func (r *Recorder) pushAudio(s media.Sample) error {
	if r.p.audio == nil {
		return nil
	}
	buf := gst.NewBufferFromBytes(s.Data)
	buf.SetPresentationTimestamp(gst.ClockTime(s.PTS))
	setDTS(buf, gst.ClockTime(s.PTS))
	if s.Duration > 0 {
		buf.SetDuration(gst.ClockTime(s.Duration))
	}
	if ret := r.p.audio.PushBuffer(buf); ret != gst.FlowOK {
		return fmt.Errorf("%w: audio: %s", ErrPush, ret)
	}
	return nil
}

func (r *Recorder) closedErr() error {
	if r.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, r.err)
	}
	return ErrClosed
}

// Close ends the streams, waits until the last segment is finalized and
// announced, and stops the pipeline. If ctx ends first the pipeline is
// stopped anyway and the open segment is left as a crash would leave it.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	first := !r.closing
	r.closing = true
	r.mu.Unlock()
	if first {
		r.p.video.EndStream()
		if r.p.audio != nil {
			r.p.audio.EndStream()
		}
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		r.stopOnce.Do(func() { close(r.stop) })
		<-r.done
		return fmt.Errorf("recorder: close: %w", ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// run owns the bus: segment messages, errors and the final EOS.
func (r *Recorder) run() {
	defer close(r.done)
	bus := r.p.pipeline.GetPipelineBus()
	err := r.watch(bus)
	if nerr := stopPipeline(r.p.pipeline); nerr != nil && err == nil {
		err = nerr
	}
	r.mu.Lock()
	r.err = err
	r.closing = true
	r.mu.Unlock()
	if err != nil {
		r.log.Error("recording stopped", "err", err)
	} else {
		r.log.Info("recording finished")
	}
}

func (r *Recorder) watch(bus *gst.Bus) error {
	for {
		select {
		case <-r.stop:
			return errors.New("recorder: stopped before end of stream")
		default:
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			r.closeOpenSegments()
			return nil
		case gst.MessageError:
			return busError(msg)
		case gst.MessageWarning:
			if w := msg.ParseWarning(); w != nil {
				r.log.Warn("pipeline warning", "source", msg.Source(), "warning", w.Error(), "debug", w.DebugString())
			}
		case gst.MessageElement:
			r.handleElement(msg)
		}
	}
}
