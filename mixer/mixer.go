// Package mixer turns a room's participant tracks into one composite: one
// GStreamer pipeline per room tiles the video on a black background, mixes
// the audio over silence, encodes once (H.264 or VP8, AAC and Opus) and hands
// out the encoded samples on a media.Stream.
//
// Per track (a bin, added and removed while playing):
//
//	appsrc (RTP, do-timestamp) → rtpjitterbuffer → depay [→ h264parse] → decoder
//	  video: → videoconvert → aspectratiocrop → textoverlay (name) → queue (leaky) → compositor pad
//	  audio: → audioconvert → audioresample → F32 48 kHz stereo → queue (leaky) → audiomixer pad (volume: SetGain)
//
// A participant with audio and no video gets a name card instead of a
// camera (placeholder.go): videotestsrc solid colour → textoverlay → queue.
//
// Room:
//
//	videotestsrc 16x16, transparent (live; clocks the compositor) → compositor (black fill; pads scale linearly, scale.go)
//	  → WxH@FPS I420 → queue (leaky) → x264enc → constrained baseline → h264parse → appsink
//	                                  (or vp8enc → appsink)
//	audiotestsrc silence (live) → audiomixer (F32) → limiter (pad probe) → tee → audioconvert → avenc_aac → appsink
//	                                                                       └→ audioconvert → opusenc → appsink
//
// Output samples are stamped with the pipeline's running time. AAC samples
// are moved earlier by the encoder's priming delay (1024 samples for
// avenc_aac), so a muxer must not add a priming edit list of its own; the
// first AAC frame, which would then start before 0, is not published.
// Tracks of one participant are lip-synced from their RTCP sender reports
// (see sync.go).
package mixer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Mixer is one room's composite. All changes to the pipeline graph happen on
// its owner goroutine; the exported methods send it work and wait.
type Mixer struct {
	cfg Config
	log *slog.Logger

	pipeline   *gst.Pipeline
	compositor *gst.Element
	audiomixer *gst.Element
	encoder    *gst.Element
	out        *media.Stream
	keyframe   *limiter
	stats      counters
	aacPriming time.Duration // subtracted from AAC timestamps
	limit      *peakLimiter  // on the audio mix
	handoff    *handoff      // the appsinks' samples to Go

	infoMu   sync.Mutex
	info     media.StreamInfo
	aacReady chan struct{}

	mu           sync.Mutex // guards inputs, nextID, layout, speaker, gains, videoLeft
	inputs       map[int]*input
	gains        map[string]float64   // per participant; absent is 1
	videoLeft    map[string]time.Time // when a participant's last video track left
	nextID       int
	layout       Layout
	speaker      string // participant with the main tile in the speaker layout
	speakerSince time.Time
	syncMu       sync.Mutex // serialises lip-sync updates

	closing   bool // owner goroutine only: Close has begun, no new inputs
	cmds      chan func()
	stop      chan struct{} // closed to end the owner goroutine
	done      chan struct{} // closed when the owner goroutine is gone
	busDone   chan struct{}
	eos       chan struct{} // closed when the pipeline's EOS reached the bus
	eosOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New builds the room's pipeline and sets it playing. It returns once the
// pipeline plays and the AAC configuration is known, so Info is complete
// from the start and never blocks.
func New(cfg Config) (*Mixer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	initGst()
	pl, err := gst.NewPipeline("")
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	m := &Mixer{
		cfg: cfg, log: cfg.Log, pipeline: pl, out: media.NewStream(),
		aacReady: make(chan struct{}), inputs: map[int]*input{}, gains: map[string]float64{}, videoLeft: map[string]time.Time{}, layout: cfg.Layout,
		limit: newPeakLimiter(audioRate, audioChannels),
		cmds:  make(chan func()), stop: make(chan struct{}), done: make(chan struct{}),
		busDone: make(chan struct{}), eos: make(chan struct{}),
		info: media.StreamInfo{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, VideoCodec: cfg.VideoCodec,
			AudioSampleRate: audioRate, AudioChannels: audioChannels},
	}
	m.keyframe = newLimiter(keyframeInterval, m.forceKeyUnit)
	m.out.OnSubscribe = func(*media.Reader) { m.RequestKeyframe() }
	if m.handoff, err = newHandoff(); err != nil {
		return nil, err
	}
	go m.handoff.run()
	if err := m.buildVideo(); err != nil {
		return nil, errors.Join(err, m.handoff.stop())
	}
	if err := m.buildAudio(); err != nil {
		return nil, errors.Join(err, m.handoff.stop())
	}
	busMsgs := make(chan *gst.Message, 64)
	go m.readBus(busMsgs)
	go m.run(busMsgs)
	if err := setState(pl.Element, gst.StatePlaying, startTimeout); err != nil {
		m.shutdown()
		return nil, err
	}
	select {
	case <-m.aacReady:
	case <-m.done:
		m.shutdown()
		return nil, fmt.Errorf("%w: pipeline stopped while starting", ErrPipeline)
	case <-time.After(startTimeout):
		m.shutdown()
		return nil, fmt.Errorf("%w: no AAC output after %s", ErrStateTimeout, startTimeout)
	}
	m.log.Info("mixer started", "width", cfg.Width, "height", cfg.Height, "fps", cfg.FPS, "codec", cfg.VideoCodec)
	return m, nil
}

// Output is the encoded composite: video (H264 or VP8), AAC and Opus
// samples on one stream; readers filter by Codec.
func (m *Mixer) Output() *media.Stream { return m.out }

// Info describes the encoded streams, AAC AudioSpecificConfig included. It
// never blocks: New does not return before the AAC configuration is known.
func (m *Mixer) Info() media.StreamInfo {
	m.infoMu.Lock()
	defer m.infoMu.Unlock()
	info := m.info
	info.AudioConfig = append([]byte(nil), m.info.AudioConfig...)
	return info
}

// RequestKeyframe makes the encoder emit a keyframe soon (at most one
// request per 500 ms reaches it; a request inside that window is deferred).
func (m *Mixer) RequestKeyframe() { m.keyframe.call() }

func (m *Mixer) forceKeyUnit() {
	st := gst.NewStructureFromString("GstForceKeyUnit, all-headers=(boolean)true, count=(uint)0")
	if st == nil {
		return
	}
	if m.encoder.GetStaticPad("src").SendEvent(gst.NewCustomEvent(gst.EventTypeCustomUpstream, st)) {
		m.stats.keyframeRequests.Add(1)
	}
}

// Stats returns the mixer's counters.
func (m *Mixer) Stats() Stats {
	m.mu.Lock()
	n, cards := 0, 0
	for _, in := range m.inputs {
		if in.placeholder {
			cards++
		} else {
			n++
		}
	}
	m.mu.Unlock()
	st := m.stats.snapshot(n)
	st.Placeholders = cards
	return st
}

// SetLayout changes the layout while playing.
func (m *Mixer) SetLayout(l Layout) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return m.do(func() error {
		m.mu.Lock()
		m.layout = l
		m.mu.Unlock()
		return m.applyLayout()
	})
}

// AddTrack adds one participant track to the room; the caller feeds the
// returned sink with RTP packets and sender reports and closes it when the
// track ends. requestKeyframe (may be nil) is called, at most every 500 ms,
// when the track's decoder needs a keyframe.
func (m *Mixer) AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error) {
	spec, err := specFor(info)
	if err != nil {
		return nil, err
	}
	if requestKeyframe == nil {
		requestKeyframe = func() {}
	}
	in := &input{m: m, info: info, spec: spec, eos: make(chan struct{})}
	in.keyframe = newLimiter(keyframeInterval, requestKeyframe)
	err = m.do(func() error { return m.addInput(in) })
	if err != nil {
		in.keyframe.stop()
		return nil, err
	}
	return in, nil
}

// do runs f on the owner goroutine and returns its error.
func (m *Mixer) do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case m.cmds <- func() { errc <- f() }:
	case <-m.done:
		return ErrClosed
	}
	select {
	case err := <-errc:
		return err
	case <-m.done:
		select {
		case err := <-errc:
			return err
		default:
			return ErrClosed
		}
	}
}

// run is the owner goroutine: graph changes and bus messages, one at a time.
func (m *Mixer) run(busMsgs <-chan *gst.Message) {
	defer close(m.done)
	tick := time.NewTicker(speakerTick)
	defer tick.Stop()
	look := time.NewTicker(syncLookInterval)
	defer look.Stop()
	for {
		select {
		case f := <-m.cmds:
			f()
		case <-look.C:
			m.lookSync()
		case <-tick.C:
			m.updateSpeaker()
			if !m.closing {
				m.syncPlaceholders(true)
			}
		case msg := <-busMsgs:
			m.handleMessage(msg)
		case <-m.stop:
			return
		}
	}
}

// readBus forwards bus messages to the owner until stop. It waits in
// GStreamer without a timeout (a waiting loop that wakes up every few
// milliseconds costs the whole process scheduler work); shutdown posts a
// message to wake it.
func (m *Mixer) readBus(out chan<- *gst.Message) {
	defer close(m.busDone)
	bus := m.pipeline.GetPipelineBus()
	for {
		msg := bus.TimedPop(gst.ClockTimeNone)
		select {
		case <-m.stop:
			return
		default:
		}
		if msg == nil {
			continue
		}
		select {
		case out <- msg:
		case <-m.stop:
			return
		}
	}
}

// Close ends the room: inputs are removed, EOS is sent and awaited (bounded
// by ctx) so the encoders flush, then the pipeline stops and Output closes.
func (m *Mixer) Close(ctx context.Context) error {
	m.closeOnce.Do(func() { m.closeErr = m.close(ctx) })
	return m.closeErr
}

func (m *Mixer) close(ctx context.Context) error {
	m.keyframe.stop()
	var eosErr error
	err := m.do(func() error {
		m.closing = true
		m.mu.Lock()
		ins := make([]*input, 0, len(m.inputs))
		for _, in := range m.inputs {
			ins = append(ins, in)
		}
		m.mu.Unlock()
		for _, in := range ins {
			in.closed.Store(true)
			in.keyframe.stop()
			if err := m.removeInput(in, false); err != nil {
				m.log.Warn("remove input at close", "err", err)
			}
		}
		if !m.pipeline.SendEvent(gst.NewEOSEvent()) {
			eosErr = fmt.Errorf("%w: EOS not accepted", ErrPipeline)
		}
		return nil
	})
	if err == nil && eosErr == nil {
		select {
		case <-m.eos:
		case <-ctx.Done():
			eosErr = fmt.Errorf("%w: waiting for EOS: %w", ErrStateTimeout, ctx.Err())
		case <-m.done:
		}
	}
	m.shutdown()
	m.log.Info("mixer closed", "video_frames", m.stats.videoFrames.Load())
	return eosErr
}

// shutdown stops the goroutines, sets the pipeline to NULL and closes Output.
func (m *Mixer) shutdown() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	m.pipeline.GetPipelineBus().Post(gst.NewApplicationMessage(m.pipeline, gst.NewStructure("mosaic-stop")))
	<-m.busDone
	if err := setState(m.pipeline.Element, gst.StateNull, stopTimeout); err != nil {
		m.log.Error("pipeline stop", "err", err)
	}
	if err := m.handoff.stop(); err != nil {
		m.log.Warn("output handoff stop", "err", err)
	}
	m.out.Close()
}
