package compose

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// graph is the render pipeline:
//
//	filesrc → decodebin → videoconvert [→ aspectratiocrop] ┐
//	                                     compositor (tiles) ┴→ x264enc → h264parse ┐
//	filesrc → decodebin → audioconvert → audioresample ┐                          mp4mux → filesink
//	                                             audiomixer → avenc_aac → aacparse ┘
//
// Every input's pads carry an offset that puts it on the output timeline;
// the aggregators' outputs end at the range's end with an EOS of their own.
type graph struct {
	p       *gst.Pipeline
	done    atomic.Int64 // output media time rendered, ns
	linkErr chan error
}

func buildGraph(s *Spec, tracks []placedTrack, total time.Duration) (*graph, error) {
	initGst()
	p, err := gst.NewPipeline("compose")
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	g := &graph{p: p, linkErr: make(chan error, 2*len(tracks)+2)}
	mux, err := addChain(p,
		el("mp4mux", map[string]any{"faststart": true}),
		el("filesink", map[string]any{"location": s.Out + ".part", "sync": false, "async": false}))
	if err != nil {
		return nil, err
	}
	var hasVideo, hasAudio bool
	for _, t := range tracks {
		hasVideo = hasVideo || (t.Kind == media.Video && t.tile.W > 0)
		hasAudio = hasAudio || t.Kind == media.Audio
	}
	var comp, amix *gst.Element
	if hasVideo || !hasAudio {
		if comp, err = g.videoOut(s, mux[0], total, !hasVideo); err != nil {
			return nil, err
		}
	}
	if hasAudio {
		if amix, err = g.audioOut(mux[0], s.From, total, !hasVideo); err != nil {
			return nil, err
		}
	}
	for _, t := range tracks {
		switch {
		case t.Kind == media.Video && t.tile.W > 0:
			err = g.videoInput(s, t, comp)
		case t.Kind == media.Audio:
			err = g.audioInput(t, amix)
		}
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

// aacPriming is avenc_aac's delay (1024 samples at 48 kHz); mp4mux writes
// no edit list for it.
const aacPriming = 1024 * time.Second / 48000

// videoOut builds compositor → caps → x264enc → h264parse → mux. Without
// any video track a black test source fills the picture.
func (g *graph) videoOut(s *Spec, mux *gst.Element, total time.Duration, blank bool) (*gst.Element, error) {
	caps := gst.NewCapsFromString(fmt.Sprintf("video/x-raw,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1", s.Width, s.Height, s.FPS))
	elems, err := addChain(g.p,
		el("compositor", map[string]any{"background": "black"}),
		el("capsfilter", map[string]any{"caps": caps}),
		el("x264enc", map[string]any{"speed-preset": "veryfast", "tune": "zerolatency", "bitrate": 2500, "key-int-max": 2 * s.FPS}),
		el("h264parse", nil))
	if err != nil {
		return nil, err
	}
	if err := linkRequest(elems[len(elems)-1], mux, "video_%u"); err != nil {
		return nil, err
	}
	g.cut(elems[0].GetStaticPad("src"), s.From, total, true)
	if blank {
		frames := int((s.From+total).Seconds()*float64(s.FPS)) + 1
		src, err := addChain(g.p, el("videotestsrc", map[string]any{"pattern": "black", "num-buffers": frames}),
			el("capsfilter", map[string]any{"caps": gst.NewCapsFromString(fmt.Sprintf("video/x-raw,width=%d,height=%d,framerate=%d/1", s.Width, s.Height, s.FPS))}))
		if err != nil {
			return nil, err
		}
		if err := linkRequest(src[1], elems[0], "sink_%u"); err != nil {
			return nil, err
		}
	}
	return elems[0], nil
}

// audioOut builds audiomixer → 48 kHz stereo → AAC → mux.
func (g *graph) audioOut(mux *gst.Element, from, total time.Duration, progress bool) (*gst.Element, error) {
	elems, err := addChain(g.p,
		el("audiomixer", nil),
		el("capsfilter", map[string]any{"caps": gst.NewCapsFromString("audio/x-raw,rate=48000,channels=2")}),
		el("audioconvert", nil),
		el("avenc_aac", map[string]any{"bitrate": 128000}),
		el("aacparse", nil))
	if err != nil {
		return nil, err
	}
	if err := linkRequest(elems[len(elems)-1], mux, "audio_%u"); err != nil {
		return nil, err
	}
	// Decoders play the AAC encoder's priming samples first: the mix is
	// taken that much earlier so the sound is not late in the file.
	g.cut(elems[0].GetStaticPad("src"), from+aacPriming, total, progress)
	return elems[0], nil
}

// cut takes total of an aggregator's output from from on: earlier buffers
// are dropped, the others moved back by from (the aggregator's buffers are
// its own), and the first one past total sends EOS downstream; it and the
// rest are dropped. With progress, the output's position is kept in g.done.
func (g *graph) cut(pad *gst.Pad, from, total time.Duration, progress bool) {
	var ended bool
	pad.AddProbe(gst.PadProbeTypeBuffer, func(pad *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		if ended {
			return gst.PadProbeDrop
		}
		buf := info.GetBuffer()
		if buf == nil {
			return gst.PadProbeOK
		}
		pts := buf.PresentationTimestamp()
		if pts == gst.ClockTimeNone {
			return gst.PadProbeOK
		}
		at := time.Duration(pts) - from
		if at < 0 {
			return gst.PadProbeDrop
		}
		if at >= total {
			ended = true
			if peer := pad.GetPeer(); peer != nil {
				peer.SendEvent(gst.NewEOSEvent())
			}
			return gst.PadProbeDrop
		}
		buf.SetPresentationTimestamp(gst.ClockTime(at))
		if progress {
			end := at
			if d := buf.Duration(); d != gst.ClockTimeNone {
				end += time.Duration(d)
			}
			g.done.Store(int64(min(end, total)))
		}
		return gst.PadProbeOK
	})
}

// videoInput decodes a video track into its tile of the compositor.
func (g *graph) videoInput(s *Spec, t placedTrack, comp *gst.Element) error {
	specs := []elementSpec{el("videoconvert", nil)}
	if s.Layout.Fit == mixer.FitCrop {
		specs = append(specs, el("aspectratiocrop", map[string]any{"aspect-ratio": fmt.Sprintf("%d/%d", t.tile.W, t.tile.H)}))
	}
	chain, err := addChain(g.p, specs...)
	if err != nil {
		return err
	}
	sink := comp.GetRequestPad("sink_%u")
	if sink == nil {
		return fmt.Errorf("%w: compositor has no sink pad", ErrPipeline)
	}
	props := map[string]any{"xpos": t.tile.X, "ypos": t.tile.Y, "width": t.tile.W, "height": t.tile.H}
	if s.Layout.Fit != mixer.FitCrop {
		props["sizing-policy"] = "keep-aspect-ratio"
	}
	if err := setProps(sink, "compositor pad", props); err != nil {
		return err
	}
	return g.input(t, "video/", chain, sink)
}

// audioInput decodes an audio track into the mixer.
func (g *graph) audioInput(t placedTrack, amix *gst.Element) error {
	chain, err := addChain(g.p, el("audioconvert", nil), el("audioresample", nil))
	if err != nil {
		return err
	}
	sink := amix.GetRequestPad("sink_%u")
	if sink == nil {
		return fmt.Errorf("%w: audiomixer has no sink pad", ErrPipeline)
	}
	return g.input(t, "audio/", chain, sink)
}

// input adds filesrc → decodebin for t and links the decoded stream of the
// wanted kind through chain into sink, with the track's offset. A file
// without such a stream ends sink's stream so the output is not held up.
func (g *graph) input(t placedTrack, prefix string, chain []*gst.Element, sink *gst.Pad) error {
	src, err := addChain(g.p, el("filesrc", map[string]any{"location": t.Path}), el("decodebin", nil))
	if err != nil {
		return err
	}
	sink.SetOffset(int64(t.offset))
	if err := linkPads(chain[len(chain)-1].GetStaticPad("src"), sink); err != nil {
		return err
	}
	head := chain[0].GetStaticPad("sink")
	dec := src[1]
	if _, err := dec.Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		caps := pad.GetCurrentCaps()
		if caps == nil || !strings.HasPrefix(caps.String(), prefix) || head.IsLinked() {
			if err := g.discard(pad); err != nil {
				g.linkErr <- err
			}
			return
		}
		if err := linkPads(pad, head); err != nil {
			g.linkErr <- fmt.Errorf("%s: %w", t.Path, err)
		}
	}); err != nil {
		return fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	if _, err := dec.Connect("no-more-pads", func(_ *gst.Element) {
		if !head.IsLinked() {
			head.SendEvent(gst.NewEOSEvent())
		}
	}); err != nil {
		return fmt.Errorf("%w: no-more-pads: %w", ErrPipeline, err)
	}
	return nil
}

func (g *graph) discard(pad *gst.Pad) error {
	fake, err := newElement("fakesink", map[string]any{"sync": false, "async": false})
	if err != nil {
		return err
	}
	if err := g.p.Add(fake); err != nil {
		return fmt.Errorf("%w: add fakesink: %w", ErrPipeline, err)
	}
	fake.SyncStateWithParent()
	return linkPads(pad, fake.GetStaticPad("sink"))
}

func linkRequest(src, dst *gst.Element, template string) error {
	pad := dst.GetRequestPad(template)
	if pad == nil {
		return fmt.Errorf("%w: %s has no %s pad", ErrPipeline, dst.GetName(), template)
	}
	return linkPads(src.GetStaticPad("src"), pad)
}
