package recorder

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// trackCloseTimeout bounds how long Close waits for the file to be finalized.
const trackCloseTimeout = 15 * time.Second

// TrackConfig configures a raw track recording.
type TrackConfig struct {
	Path string // the Matroska file (created with its directory); sidecar at TimingPath(Path)
	Info media.TrackInfo
	Log  *slog.Logger
}

// Track records one participant track as it arrived, without transcoding:
//
//	appsrc(RTP) → rtpjitterbuffer → depay → parser → matroskamux → filesink (unbuffered)
//
// It implements media.TrackSink. One goroutine owns the bus; Close sends EOS
// and waits for it to finish the file.
type Track struct {
	cfg  TrackConfig
	log  *slog.Logger
	p    *gst.Pipeline
	src  *app.Source
	done chan struct{}

	mu      sync.Mutex
	timing  TrackTiming
	started bool
	closing bool
	err     error
	once    sync.Once
}

var _ media.TrackSink = (*Track)(nil)

// NewTrack builds the pipeline and sets it playing.
func NewTrack(cfg TrackConfig) (*Track, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("%w: track Path is empty", ErrConfig)
	}
	if cfg.Info.ClockRate == 0 {
		return nil, fmt.Errorf("%w: track clock rate is 0", ErrConfig)
	}
	codec, err := codecFor(cfg.Info)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("recorder: track dir: %w", err)
	}
	p, src, err := buildTrackPipeline(cfg, codec)
	if err != nil {
		return nil, err
	}
	if err := setState(p, gst.StatePlaying); err != nil {
		_ = p.SetState(gst.StateNull)
		return nil, err
	}
	i := cfg.Info
	t := &Track{
		cfg:  cfg,
		log:  cfg.Log.With("component", "track-recorder", "room", i.Room, "participant", i.Participant, "track", i.TrackID),
		p:    p,
		src:  src,
		done: make(chan struct{}),
		timing: TrackTiming{Room: i.Room, Participant: i.Participant, TrackID: i.TrackID, Kind: i.Kind,
			MimeType: i.MimeType, ClockRate: i.ClockRate, SSRC: i.SSRC, SenderReports: []TimingPoint{}},
	}
	go t.run()
	return t, nil
}

func buildTrackPipeline(cfg TrackConfig, codec trackCodec) (*gst.Pipeline, *app.Source, error) {
	initGst()
	p, err := gst.NewPipeline("track")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	caps := gst.NewCapsFromString(codec.caps(cfg.Info))
	if caps == nil {
		return nil, nil, fmt.Errorf("%w: bad rtp caps %q", ErrConfig, codec.caps(cfg.Info))
	}
	src, err := newElement("appsrc", "rtp-src", map[string]any{
		"is-live": true, "do-timestamp": true, "caps": caps, "max-bytes": uint64(32 << 20),
	})
	if err != nil {
		return nil, nil, err
	}
	src.SetArg("format", "time")
	jb, err := newElement("rtpjitterbuffer", "jitter", map[string]any{"latency": uint(200)})
	if err != nil {
		return nil, nil, err
	}
	depay, err := newElement(codec.depay, "depay", nil)
	if err != nil {
		return nil, nil, err
	}
	chain := []*gst.Element{src, jb, depay}
	if codec.parser != "" {
		parse, err := newElement(codec.parser, "parse", nil)
		if err != nil {
			return nil, nil, err
		}
		chain = append(chain, parse)
	}
	mux, err := newElement("matroskamux", "mux", map[string]any{
		"max-cluster-duration": int64(time.Second),
		"min-cluster-duration": int64(500 * time.Millisecond),
	})
	if err != nil {
		return nil, nil, err
	}
	sink, err := newElement("filesink", "file", map[string]any{"location": cfg.Path, "sync": false, "async": false})
	if err != nil {
		return nil, nil, err
	}
	sink.SetArg("buffer-mode", "unbuffered")
	if err := p.AddMany(append(chain, mux, sink)...); err != nil {
		return nil, nil, fmt.Errorf("%w: add track elements: %w", ErrPipeline, err)
	}
	if err := linkChain(chain...); err != nil {
		return nil, nil, err
	}
	pad := mux.GetRequestPad(codec.muxPad)
	if pad == nil {
		return nil, nil, fmt.Errorf("%w: matroskamux has no %s pad", ErrPipeline, codec.muxPad)
	}
	if err := linkPads(chain[len(chain)-1].GetStaticPad("src"), pad); err != nil {
		return nil, nil, err
	}
	if err := linkChain(mux, sink); err != nil {
		return nil, nil, err
	}
	return p, app.SrcFromElement(src), nil
}

// WriteRTP records one RTP packet of the track.
func (t *Track) WriteRTP(packet []byte) error {
	if len(packet) < 12 || packet[0]>>6 != 2 {
		return fmt.Errorf("%w: %d bytes, not RTP version 2", ErrRTP, len(packet))
	}
	if pt := packet[1] & 0x7f; t.cfg.Info.PayloadType != 0 && pt != t.cfg.Info.PayloadType {
		return fmt.Errorf("%w: payload type %d, track has %d", ErrRTP, pt, t.cfg.Info.PayloadType)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing || t.err != nil {
		if t.err != nil {
			return fmt.Errorf("%w: %w", ErrClosed, t.err)
		}
		return ErrClosed
	}
	if !t.started {
		t.started = true
		t.timing.FirstRTP = binary.BigEndian.Uint32(packet[4:8])
		t.timing.FirstArrival = time.Now()
		if t.timing.SSRC == 0 {
			t.timing.SSRC = binary.BigEndian.Uint32(packet[8:12])
		}
		if err := t.timing.write(t.cfg.Path); err != nil {
			t.log.Warn("timing sidecar", "err", err)
		}
	}
	if ret := t.src.PushBuffer(gst.NewBufferFromBytes(packet)); ret != gst.FlowOK {
		return fmt.Errorf("%w: %s", ErrPush, ret)
	}
	return nil
}

// WriteSenderReport keeps the report's NTP/RTP pair in the timing sidecar.
func (t *Track) WriteSenderReport(sr media.SenderReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return
	}
	arrival := sr.Arrival
	if arrival.IsZero() {
		arrival = time.Now()
	}
	t.timing.SenderReports = append(t.timing.SenderReports, TimingPoint{NTP: sr.NTPTime, RTP: sr.RTPTime, Arrival: arrival})
	if err := t.timing.write(t.cfg.Path); err != nil {
		t.log.Warn("timing sidecar", "err", err)
	}
}

// Close ends the stream, waits (bounded) until the file is finalized and
// stops the pipeline. It is safe to call more than once.
func (t *Track) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		t.closing = true
		t.mu.Unlock()
		t.src.EndStream()
	})
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// run owns the bus until EOS or an error, then stops the pipeline.
func (t *Track) run() {
	defer close(t.done)
	err := t.watch()
	if nerr := stopPipeline(t.p); nerr != nil && err == nil {
		err = nerr
	}
	t.mu.Lock()
	t.err = err
	t.closing = true
	if err == nil {
		if werr := t.timing.write(t.cfg.Path); werr != nil {
			t.err = werr
		}
	}
	t.mu.Unlock()
	if err != nil {
		t.log.Error("track recording stopped", "path", t.cfg.Path, "err", err)
	}
}

func (t *Track) watch() error {
	bus := t.p.GetPipelineBus()
	var deadline time.Time
	for {
		t.mu.Lock()
		closing := t.closing
		t.mu.Unlock()
		if closing && deadline.IsZero() {
			deadline = time.Now().Add(trackCloseTimeout)
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("%w: no end of stream within %s", ErrPipeline, trackCloseTimeout)
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			return nil
		case gst.MessageError:
			return busError(msg)
		case gst.MessageWarning:
			if w := msg.ParseWarning(); w != nil {
				t.log.Warn("pipeline warning", "source", msg.Source(), "warning", w.Error())
			}
		}
	}
}
