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
// Output time 0 is the range's start. An input that begins before it is
// sought to the keyframe before (what lies before is never decoded), and
// every segment it sends sets its aggregator pad's offset so that its
// buffers land on the output timeline; the aggregators' outputs end at
// the range's end with an EOS of their own. In a speaker layout the tiles
// change as the compositor's output passes each layout step.
type graph struct {
	p       *gst.Pipeline
	done    atomic.Int64 // output media time rendered, ns
	decoded atomic.Int64 // video frames decoded, all inputs
	linkErr chan error
	steps   []layoutStep
	total   time.Duration    // output duration
	vpads   map[int]*gst.Pad // compositor sink pad of each video tile index
}

func buildGraph(s *Spec, pl *planned) (*graph, error) {
	initGst()
	p, err := gst.NewPipeline("compose")
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	tracks, total := pl.tracks, pl.total
	g := &graph{p: p, linkErr: make(chan error, 2*len(tracks)+2), steps: pl.steps, total: pl.total, vpads: map[int]*gst.Pad{}}
	mux, err := addChain(p,
		el("mp4mux", map[string]any{"faststart": true}),
		el("filesink", map[string]any{"location": s.Out + ".part", "sync": false, "async": false}))
	if err != nil {
		return nil, err
	}
	var hasVideo, hasAudio bool
	for _, t := range tracks {
		hasVideo = hasVideo || g.shown(t)
		hasAudio = hasAudio || t.Kind == media.Audio
	}
	var comp, amix *gst.Element
	if hasVideo || !hasAudio {
		if comp, err = g.videoOut(s, mux[0], total, !hasVideo); err != nil {
			return nil, err
		}
	}
	if hasAudio {
		if amix, err = g.audioOut(mux[0], total, !hasVideo); err != nil {
			return nil, err
		}
	}
	for _, t := range tracks {
		switch {
		case g.shown(t):
			err = g.videoInput(s, t, comp)
		case t.Kind == media.Audio:
			err = g.audioInput(s, t, amix)
		}
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

// shown reports whether video track t has a tile at some time.
func (g *graph) shown(t placedTrack) bool {
	if t.Kind != media.Video || t.video < 0 {
		return false
	}
	for _, st := range g.steps {
		if st.tiles[t.video].W > 0 {
			return true
		}
	}
	return false
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
		el("queue", map[string]any{"max-size-buffers": 3, "max-size-bytes": 0, "max-size-time": 0}),
		el("x264enc", map[string]any{"speed-preset": "veryfast", "tune": "zerolatency", "bitrate": 2500, "key-int-max": 2 * s.FPS}),
		el("h264parse", nil))
	if err != nil {
		return nil, err
	}
	if err := linkRequest(elems[len(elems)-1], mux, "video_%u"); err != nil {
		return nil, err
	}
	g.follow(elems[0].GetStaticPad("src"), time.Second/time.Duration(s.FPS))
	g.cut(elems[0].GetStaticPad("src"), 0, total, true)
	if blank {
		frames := int(total.Seconds()*float64(s.FPS)) + 1
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
func (g *graph) audioOut(mux *gst.Element, total time.Duration, progress bool) (*gst.Element, error) {
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
	g.cut(elems[0].GetStaticPad("src"), aacPriming, total, progress)
	return elems[0], nil
}

// follow applies the layout steps as the compositor's output passes them:
// after the frame before a step is out, the tiles change for the next.
func (g *graph) follow(pad *gst.Pad, frame time.Duration) {
	if len(g.steps) < 2 {
		return
	}
	next := 1
	pad.AddProbe(gst.PadProbeTypeBuffer, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		buf := info.GetBuffer()
		if buf == nil || buf.PresentationTimestamp() == gst.ClockTimeNone {
			return gst.PadProbeOK
		}
		pts := time.Duration(buf.PresentationTimestamp())
		for next < len(g.steps) && g.steps[next].at <= pts+frame {
			g.place(g.steps[next].tiles)
			next++
		}
		return gst.PadProbeOK
	})
}

// place sets every video pad's tile.
func (g *graph) place(tiles []rect) {
	for k, pad := range g.vpads {
		if err := setProps(pad, "compositor pad", tileProps(tiles[k])); err != nil {
			g.linkErr <- err
		}
	}
}

func tileProps(r rect) map[string]any {
	alpha := 1.0
	if r.W == 0 || r.H == 0 {
		alpha, r.W, r.H = 0, 2, 2 // width 0 would mean the picture's own size
	}
	return map[string]any{"xpos": r.X, "ypos": r.Y, "width": r.W, "height": r.H, "alpha": alpha}
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
	tile := g.steps[0].tiles[t.video]
	specs := []elementSpec{el("videoconvert", nil)}
	if s.Layout.Fit == mixer.FitCrop {
		w, h := max(tile.W, 2), max(tile.H, 2)
		specs = append(specs, el("aspectratiocrop", map[string]any{"aspect-ratio": fmt.Sprintf("%d/%d", w, h)}))
	}
	chain, err := addChain(g.p, specs...)
	if err != nil {
		return err
	}
	sink := comp.GetRequestPad("sink_%u")
	if sink == nil {
		return fmt.Errorf("%w: compositor has no sink pad", ErrPipeline)
	}
	props := tileProps(tile)
	if s.Layout.Fit != mixer.FitCrop {
		props["sizing-policy"] = "keep-aspect-ratio"
	}
	if err := setProps(sink, "compositor pad", props); err != nil {
		return err
	}
	g.vpads[t.video] = sink
	chain[0].GetStaticPad("sink").AddProbe(gst.PadProbeTypeBuffer, func(*gst.Pad, *gst.PadProbeInfo) gst.PadProbeReturn {
		g.decoded.Add(1)
		return gst.PadProbeOK
	})
	return g.input(s, t, "video/", chain, sink)
}

// audioInput decodes an audio track into the mixer.
func (g *graph) audioInput(s *Spec, t placedTrack, amix *gst.Element) error {
	chain, err := addChain(g.p, el("audioconvert", nil), el("audioresample", nil))
	if err != nil {
		return err
	}
	sink := amix.GetRequestPad("sink_%u")
	if sink == nil {
		return fmt.Errorf("%w: audiomixer has no sink pad", ErrPipeline)
	}
	return g.input(s, t, "audio/", chain, sink)
}

// input adds filesrc → decodebin for t and links the decoded stream of the
// wanted kind through chain into sink. A track that begins before the
// range is sought to it; each segment sets sink's offset so that stream
// time lands on the output timeline. A file without such a stream ends
// sink's stream so the output is not held up.
func (g *graph) input(s *Spec, t placedTrack, prefix string, chain []*gst.Element, sink *gst.Pad) error {
	src, err := addChain(g.p, el("filesrc", map[string]any{"location": t.Path}), el("decodebin", nil))
	if err != nil {
		return err
	}
	// Output time = pts - t.shift + t.offset - s.From: the file's running
	// time as its first segment had it, placed, less the range's start.
	// Buffers are stamped with it in a segment of their own from 0, so
	// nothing depends on the segments the demuxer sends after a seek;
	// those that would begin before 0 (from the keyframe before the
	// range's start) are dropped.
	base := t.offset - t.shift - s.From
	if err := linkPads(chain[len(chain)-1].GetStaticPad("src"), sink); err != nil {
		return err
	}
	head := chain[0].GetStaticPad("sink")
	var own bool
	head.AddProbe(gst.PadProbeTypeEventDownstream|gst.PadProbeTypeBuffer, func(pad *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		if info.Type()&gst.PadProbeTypeBuffer != 0 {
			buf := info.GetBuffer()
			if buf == nil || buf.PresentationTimestamp() == gst.ClockTimeNone {
				return gst.PadProbeOK
			}
			out := int64(buf.PresentationTimestamp()) + int64(base)
			if out < 0 {
				return gst.PadProbeDrop
			}
			buf.SetPresentationTimestamp(gst.ClockTime(out))
			return gst.PadProbeOK
		}
		ev := info.GetEvent()
		if ev != nil && ev.Type() == gst.EventTypeGap {
			return gst.PadProbeDrop // in the old segment's time; data follows
		}
		if own || ev == nil || ev.Type() != gst.EventTypeSegment {
			return gst.PadProbeOK
		}
		own = true
		pad.SendEvent(gst.NewSegmentEvent(gst.NewFormattedSegment(gst.FormatTime)))
		own = false
		return gst.PadProbeDrop
	})
	dec := src[1]
	// Seek positions are pts: recording time - offset + shift.
	var until time.Duration
	if to := s.From + g.total; to+seekSlack < t.end {
		until = to + seekSlack - t.offset + t.shift
	}
	if err := seekDemuxer(dec, s.From-t.offset+t.shift, until); err != nil {
		return err
	}
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
