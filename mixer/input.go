package mixer

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

const (
	jitterLatency     = 200 * time.Millisecond
	inputQueueTime    = time.Second
	keyframeInterval  = 500 * time.Millisecond
	inputEOSTimeout   = time.Second
	inputStateTimeout = 3 * time.Second
	maxRTPPacket      = 64 * 1024
)

// input is one participant track mixed into the room. It is the
// media.TrackSink handed to ingest.
type input struct {
	m    *Mixer
	id   int
	info media.TrackInfo
	spec codecSpec
	log  *slog.Logger

	bin  *gst.Bin
	src  *app.Source
	crop *gst.Element // video only: aspectratiocrop for Fit "crop"
	// nameOverlay (video only, nil without a name) writes the participant's name in the tile.
	nameOverlay *gst.Element
	queueSrc    *gst.Pad // lip-sync offset is applied here
	aggPad      *gst.Pad // compositor or audiomixer request pad

	// placeholder marks the mixer's own name card for a participant without video.
	placeholder bool
	added       time.Time // when it joined the room

	keyframe *limiter
	clock    trackClock
	// Native probes: the latest packet leaving the jitterbuffer (for
	// lip-sync), decoded frames, and (audio) the loudness for the speaker layout.
	jitterOut *mark
	decoded   *mark
	level     *mark
	looked    uint64 // packets lip-sync had seen at its last look (owner goroutine)
	closed    atomic.Bool
	eosOnce   sync.Once
	eos       chan struct{}
}

func (in *input) name(role string) string { return fmt.Sprintf("in%d-%s", in.id, role) }

// build makes the branch appsrc → jitterbuffer → depay → decode → convert → queue
// inside a bin whose ghost "src" pad feeds the aggregator.
func (in *input) build() error {
	if in.placeholder {
		return in.buildPlaceholder()
	}
	s := in.spec
	in.bin = gst.NewBin(fmt.Sprintf("in%d", in.id))
	src, err := element("appsrc", in.name("src"), p("is-live", true), p("format", "time"),
		p("do-timestamp", true), p("caps", s.rtpCaps(in.info)), p("block", false),
		p("max-bytes", 4<<20), p("leaky-type", "downstream"))
	if err != nil {
		return err
	}
	jb, err := element("rtpjitterbuffer", in.name("jitter"), p("latency", jitterLatency.Milliseconds()),
		p("do-lost", true))
	if err != nil {
		return err
	}
	depay, err := element(s.depay, in.name("depay"))
	if err != nil {
		return err
	}
	if s.kind == media.Video {
		if err := setProps(depay, p("request-keyframe", true), p("wait-for-keyframe", true)); err != nil {
			return err
		}
	}
	chain := []*gst.Element{src, jb, depay}
	if s.parse != "" {
		parse, err := element(s.parse, in.name("parse"))
		if err != nil {
			return err
		}
		chain = append(chain, parse)
	}
	dec, err := element(s.decoder, in.name("dec"), s.decProps...)
	if err != nil {
		return err
	}
	chain = append(chain, dec)
	tail, err := in.convert()
	if err != nil {
		return err
	}
	chain = append(chain, tail...)
	q, err := element("queue", in.name("queue"), p("leaky", "downstream"),
		p("max-size-time", inputQueueTime.Nanoseconds()), p("max-size-buffers", 0), p("max-size-bytes", 0))
	if err != nil {
		return err
	}
	if err := in.m.stats.countOverruns(q); err != nil {
		return err
	}
	chain = append(chain, q)
	if err := in.bin.AddMany(chain...); err != nil {
		return fmt.Errorf("%w: add input elements: %w", ErrPipeline, err)
	}
	if err := linkChain(chain...); err != nil {
		return err
	}
	in.src = app.SrcFromElement(src)
	in.queueSrc = q.GetStaticPad("src")
	if s.kind == media.Video {
		// The compositor shows, for the output frame starting at t, the input
		// frame current at t+frame: half a frame of delay centres that error.
		in.clock.base = time.Second / time.Duration(2*in.m.cfg.FPS)
		in.queueSrc.SetOffset(int64(in.clock.base))
	}
	ghost := gst.NewGhostPad("src", in.queueSrc)
	if ghost == nil || !in.bin.AddPad(ghost.Pad) {
		return fmt.Errorf("%w: input %d: ghost pad", ErrPipeline, in.id)
	}
	if in.jitterOut, err = watchRTP(jb.GetStaticPad("src")); err != nil {
		return err
	}
	if in.decoded, err = countBuffers(dec.GetStaticPad("src")); err != nil {
		return err
	}
	depay.GetStaticPad("sink").AddProbe(gst.PadProbeTypeEventUpstream, in.onUpstreamEvent)
	in.queueSrc.AddProbe(gst.PadProbeTypeEventDownstream, in.onQueueEvent)
	return nil
}

// convert is what follows the decoder: raw format conversion for the aggregator.
func (in *input) convert() ([]*gst.Element, error) {
	if in.spec.kind == media.Video {
		conv, err := element("videoconvert", in.name("convert"))
		if err != nil {
			return nil, err
		}
		crop, err := element("aspectratiocrop", in.name("crop"))
		if err != nil {
			return nil, err
		}
		in.crop = crop
		out := []*gst.Element{conv, crop}
		if label := in.label(); label != "" {
			name, err := element("textoverlay", in.name("name"), p("text", label), p("valignment", "bottom"),
				p("halignment", "left"), p("shaded-background", true), p("font-desc", nameFont(0)))
			if err != nil {
				return nil, err
			}
			in.nameOverlay = name
			out = append(out, name)
		}
		return out, nil
	}
	conv, err := element("audioconvert", in.name("convert"))
	if err != nil {
		return nil, err
	}
	res, err := element("audioresample", in.name("resample"))
	if err != nil {
		return nil, err
	}
	caps, err := element("capsfilter", in.name("caps"), p("caps", rawAudioCaps()))
	if err != nil {
		return nil, err
	}
	if in.level, err = watchLevel(caps.GetStaticPad("src"), levelSmoothing); err != nil {
		return nil, err
	}
	return []*gst.Element{conv, res, caps}, nil
}

// label is the name shown in the tile.
func (in *input) label() string {
	if in.info.Name != "" {
		return in.info.Name
	}
	return in.info.Participant
}

// nameFont sizes the name so that it is about the same height on screen in
// any tile: textoverlay scales the font with the input's width and the
// compositor scales the input to the tile, so the size goes as 1/tile width.
func nameFont(tileWidth int) string {
	size := 12
	if tileWidth > 0 {
		size = min(max(8640/tileWidth, 6), 48)
	}
	return fmt.Sprintf("Sans Bold %d", size)
}

// lookSync places the latest packet that left the jitterbuffer on the
// sender's clock (once a sender report came) and updates lip-sync when
// that moved. It runs on the owner goroutine every syncLookInterval.
func (in *input) lookSync() {
	r := in.jitterOut.read()
	if !r.haveRTP || r.buffers == in.looked {
		return
	}
	in.looked = r.buffers
	if in.clock.observe(r.rtpTS, r.pts, in.clockRate()) && !in.closed.Load() {
		in.m.resync(in.info.Participant)
	}
}

// releaseMarks gives up the native probes' records once the branch is gone.
func (in *input) releaseMarks() {
	in.jitterOut.release()
	in.decoded.release()
	in.level.release()
}

// onUpstreamEvent turns the depayloader's keyframe requests into a PLI upstream.
func (in *input) onUpstreamEvent(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
	if ev := info.GetEvent(); ev != nil && ev.HasName("GstForceKeyUnit") {
		in.keyframe.call()
	}
	return gst.PadProbeOK
}

// onQueueEvent keeps the branch's EOS out of the aggregator and signals removal.
func (in *input) onQueueEvent(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
	if ev := info.GetEvent(); ev != nil && ev.Type() == gst.EventTypeEOS {
		in.eosOnce.Do(func() { close(in.eos) })
		return gst.PadProbeDrop
	}
	return gst.PadProbeOK
}

// WriteRTP hands one RTP packet to the branch. It never blocks: when the
// branch is full the packet is dropped.
func (in *input) WriteRTP(pkt []byte) error {
	if in.closed.Load() {
		return ErrClosed
	}
	if len(pkt) < 12 || pkt[0]>>6 != 2 || len(pkt) > maxRTPPacket {
		in.m.stats.packetsDropped.Add(1)
		return fmt.Errorf("%w: track %s: not an RTP packet (%d bytes)", ErrBadPacket, in.info.TrackID, len(pkt))
	}
	if ret := in.src.PushBuffer(gst.NewBufferFromBytes(pkt)); ret != gst.FlowOK {
		in.m.stats.packetsDropped.Add(1)
		if in.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	in.m.stats.packetsIn.Add(1)
	return nil
}

// WriteSenderReport feeds the track's NTP/RTP mapping to lip-sync.
func (in *input) WriteSenderReport(sr media.SenderReport) {
	if in.closed.Load() {
		return
	}
	in.clock.report(sr)
}

func (in *input) clockRate() uint32 {
	if in.info.ClockRate != 0 {
		return in.info.ClockRate
	}
	return in.spec.clock
}

// Close removes the track from the room and waits until its branch is gone.
func (in *input) Close() error {
	if !in.closed.CompareAndSwap(false, true) {
		return nil
	}
	in.keyframe.stop()
	err := in.m.do(func() error { return in.m.removeInput(in, true) })
	if err != nil && err != ErrClosed {
		return err
	}
	return nil
}
