package rtmp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// pipeline is one connection attempt's graph:
//
//	appsrc(h264) → h264parse → queue ┐
//	                                 ├→ flvmux(streamable) → rtmp2sink
//	appsrc(aac)  → aacparse  → queue ┘
type pipeline struct {
	p     *gst.Pipeline
	sink  *gst.Element
	video *app.Source
	audio *app.Source // nil without AAC
	base  time.Duration
	start bool // a keyframe has set base
}

func buildPipeline(name, url string, info media.StreamInfo) (*pipeline, error) {
	initGst()
	p, err := gst.NewPipeline(name)
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	mux, err := newElement("flvmux", "mux", map[string]any{"streamable": true})
	if err != nil {
		return nil, err
	}
	sink, err := newElement("rtmp2sink", "sink", map[string]any{"sync": false, "async": false})
	if err != nil {
		return nil, err
	}
	sink.SetArg("location", url)
	if err := p.AddMany(mux, sink); err != nil {
		return nil, fmt.Errorf("%w: add mux and sink: %w", ErrPipeline, err)
	}
	if err := linkChain(mux, sink); err != nil {
		return nil, err
	}
	pl := &pipeline{p: p, sink: sink}
	vcaps := fmt.Sprintf("video/x-h264,stream-format=byte-stream,alignment=au,width=%d,height=%d,framerate=%d/1",
		info.Width, info.Height, max(info.FPS, 1))
	if pl.video, err = addBranch(p, mux, "video", vcaps, "h264parse", "video"); err != nil {
		return nil, err
	}
	if len(info.AudioConfig) > 0 {
		acaps := fmt.Sprintf("audio/mpeg,mpegversion=4,stream-format=raw,rate=%d,channels=%d,codec_data=(buffer)%s",
			info.AudioSampleRate, info.AudioChannels, hex.EncodeToString(info.AudioConfig))
		if pl.audio, err = addBranch(p, mux, "audio", acaps, "aacparse", "audio"); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

func addBranch(p *gst.Pipeline, mux *gst.Element, name, caps, parser, pad string) (*app.Source, error) {
	c := gst.NewCapsFromString(caps)
	if c == nil {
		return nil, fmt.Errorf("%w: bad %s caps %q", ErrPipeline, name, caps)
	}
	src, err := newElement("appsrc", name+"-src", map[string]any{
		"is-live": true, "caps": c, "max-bytes": uint64(32 << 20), "do-timestamp": false,
	})
	if err != nil {
		return nil, err
	}
	src.SetArg("format", "time")
	parse, err := newElement(parser, name+"-parse", nil)
	if err != nil {
		return nil, err
	}
	q, err := newElement("queue", name+"-queue", nil)
	if err != nil {
		return nil, err
	}
	if err := p.AddMany(src, parse, q); err != nil {
		return nil, fmt.Errorf("%w: add %s branch: %w", ErrPipeline, name, err)
	}
	if err := linkChain(src, parse, q); err != nil {
		return nil, err
	}
	sinkPad := mux.GetRequestPad(pad)
	if sinkPad == nil {
		return nil, fmt.Errorf("%w: flvmux has no %s pad", ErrPipeline, pad)
	}
	if ret := q.GetStaticPad("src").Link(sinkPad); ret != gst.PadLinkOK {
		return nil, fmt.Errorf("%w: link %s queue → flvmux: %v", ErrPipeline, name, ret)
	}
	return app.SrcFromElement(src), nil
}

var errFlow = errors.New("push refused")

// push hands one sample to the pipeline, on a timeline that starts at the
// first keyframe. Samples before it are dropped.
func (pl *pipeline) push(s media.Sample) error {
	var src *app.Source
	switch {
	case s.Kind == media.Video && s.Codec == media.H264:
		if !pl.start {
			if !s.Keyframe {
				return nil
			}
			pl.start, pl.base = true, s.PTS
		}
		src = pl.video
	case s.Kind == media.Audio && s.Codec == media.AAC && pl.audio != nil:
		if !pl.start {
			return nil
		}
		src = pl.audio
	default:
		return nil
	}
	if s.PTS < pl.base || len(s.Data) == 0 {
		return nil
	}
	buf := gst.NewBufferFromBytes(s.Data)
	buf.SetPresentationTimestamp(gst.ClockTime(s.PTS - pl.base))
	if s.Kind == media.Video {
		// The composite has no B-frames: DTS is PTS, which flvmux uses
		// when DTS is unset.
		if !s.Keyframe {
			buf.SetFlags(gst.BufferFlagDeltaUnit)
		}
	}
	if s.Duration > 0 {
		buf.SetDuration(gst.ClockTime(s.Duration))
	}
	if ret := src.PushBuffer(buf); ret != gst.FlowOK {
		return fmt.Errorf("%w: %s: %s", errFlow, s.Kind, ret)
	}
	return nil
}

// endStream sends EOS down both branches.
func (pl *pipeline) endStream() {
	pl.video.EndStream()
	if pl.audio != nil {
		pl.audio.EndStream()
	}
}

// bytesSent is what the sink has written to the server so far.
func (pl *pipeline) bytesSent() uint64 {
	v, err := pl.sink.GetProperty("stats")
	if err != nil || v == nil {
		return 0
	}
	st, ok := v.(*gst.Structure)
	if !ok || st == nil {
		return 0
	}
	for _, k := range []string{"out-bytes-acked", "out-bytes-total"} {
		if f, err := st.GetValue(k); err == nil {
			switch n := f.(type) {
			case uint64:
				if n > 0 {
					return n
				}
			}
		}
	}
	return 0
}
