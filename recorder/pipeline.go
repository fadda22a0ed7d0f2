package recorder

import (
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// segmentPattern names segment files; splitmuxsink fills in the index.
const segmentPattern = "seg-%05d.mp4"

// segmentPipeline is the recorder's graph:
//
//	appsrc(h264) → h264parse → queue ┐
//	                                 ├→ splitmuxsink(mp4mux fragmented, filesink unbuffered)
//	appsrc(aac)  → aacparse  → queue ┘
type segmentPipeline struct {
	pipeline *gst.Pipeline
	video    *app.Source
	audio    *app.Source // nil when the composite has no audio
}

func buildSegmentPipeline(cfg Config) (*segmentPipeline, error) {
	initGst()
	p, err := gst.NewPipeline("recorder")
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	mux, err := newElement("mp4mux", "mux", map[string]any{
		"fragment-duration": uint(cfg.FragmentDuration.Milliseconds()),
	})
	if err != nil {
		return nil, err
	}
	sink, err := newElement("filesink", "file", map[string]any{"sync": false, "async": false})
	if err != nil {
		return nil, err
	}
	// Every write goes to the kernel at once: a killed process loses at
	// most the fragment the muxer still holds.
	sink.SetArg("buffer-mode", "unbuffered")
	split, err := newElement("splitmuxsink", "split", map[string]any{
		"location":      filepath.Join(cfg.Dir, segmentPattern),
		"max-size-time": uint64(cfg.SegmentDuration.Nanoseconds()),
		"start-index":   1,
		"muxer":         mux,
		"sink":          sink,
	})
	if err != nil {
		return nil, err
	}
	if err := p.Add(split); err != nil {
		return nil, fmt.Errorf("%w: add splitmuxsink: %w", ErrPipeline, err)
	}
	sp := &segmentPipeline{pipeline: p}

	vcaps := fmt.Sprintf("video/x-h264,stream-format=byte-stream,alignment=au,width=%d,height=%d,framerate=%d/1",
		cfg.Info.Width, cfg.Info.Height, cfg.Info.FPS)
	if sp.video, err = addBranch(p, split, "video", vcaps, "h264parse", "video"); err != nil {
		return nil, err
	}
	if len(cfg.Info.AudioConfig) > 0 {
		acaps := fmt.Sprintf("audio/mpeg,mpegversion=4,stream-format=raw,rate=%d,channels=%d,codec_data=(buffer)%s",
			cfg.Info.AudioSampleRate, cfg.Info.AudioChannels, hex.EncodeToString(cfg.Info.AudioConfig))
		if sp.audio, err = addBranch(p, split, "audio", acaps, "aacparse", "audio_%u"); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// addBranch builds appsrc → parser → queue and links it to a request pad of split.
func addBranch(p *gst.Pipeline, split *gst.Element, name, caps, parser, padTemplate string) (*app.Source, error) {
	c := gst.NewCapsFromString(caps)
	if c == nil {
		return nil, fmt.Errorf("%w: bad %s caps %q", ErrConfig, name, caps)
	}
	src, err := newElement("appsrc", name+"-src", map[string]any{
		// Not live: the sinks preroll on the first buffers pushed in
		// PAUSED, and mp4mux interleaves by timestamps, never by clock.
		"is-live":   false,
		"caps":      c,
		"max-bytes": uint64(256 << 20),
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
	pad := split.GetRequestPad(padTemplate)
	if pad == nil {
		return nil, fmt.Errorf("%w: splitmuxsink has no %s pad", ErrPipeline, padTemplate)
	}
	if err := linkPads(q.GetStaticPad("src"), pad); err != nil {
		return nil, err
	}
	return app.SrcFromElement(src), nil
}
