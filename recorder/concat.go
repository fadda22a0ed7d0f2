package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// Concat joins segments, in order, into one single-file MP4 at out with its
// moov before the media data (fast start). Nothing is re-encoded: the
// segments must come from one recording (same codecs and parameters).
//
// Fragmented segments such as the recorder's are joined directly: their
// moov and moof boxes give every sample's size, duration, flags and place,
// from which one moov with complete sample tables is written, followed by
// the segments' sample data copied as it is (by the kernel where it can).
// Other inputs (segments that are not fragmented, or whose codec
// parameters change) go through GStreamer:
//
//	filesrc → qtdemux ┬ video → queue → concat → h264parse → queue ┐
//	   (per segment)  └ audio → queue → concat → aacparse  → queue ┴→ mp4mux(faststart) → filesink
//
// out is written through a temporary file renamed into place, and not
// synced: it is an intermediate file that callers store elsewhere.
func Concat(ctx context.Context, segments []string, out string) error {
	if len(segments) == 0 {
		return fmt.Errorf("%w: no segments to concatenate", ErrNoInput)
	}
	first, err := inspectMP4(segments[0])
	if err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	if !first.Video {
		return fmt.Errorf("%w: %s", ErrNoVideo, segments[0])
	}
	for _, s := range segments[1:] {
		if _, err := os.Stat(s); err != nil {
			return fmt.Errorf("%w: %w", ErrNoInput, err)
		}
	}
	err = remuxConcat(ctx, segments, out)
	if !errors.Is(err, errRemux) {
		return err
	}
	return gstConcat(ctx, segments, out, first.Audio)
}

// remuxConcat joins fragmented segments without demuxing them.
func remuxConcat(ctx context.Context, segments []string, out string) error {
	plan, err := planRemux(segments)
	if err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	hdr, size, err := plan.layout()
	if err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	tmp := out + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	defer os.Remove(tmp)
	werr := plan.write(ctx, f, hdr, segments)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("recorder: concat: %w", werr)
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	if st.Size() != size {
		return fmt.Errorf("recorder: concat: wrote %d bytes, planned %d", st.Size(), size)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	return nil
}

// gstConcat joins any MP4 segments with GStreamer.
func gstConcat(ctx context.Context, segments []string, out string, audio bool) error {
	tmp := out + ".part"
	defer os.Remove(tmp)
	initGst()
	p, err := gst.NewPipeline("concat")
	if err != nil {
		return fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer p.SetState(gst.StateNull)
	c := &concatGraph{p: p}
	if err := c.build(segments, tmp, audio); err != nil {
		return err
	}
	if err := runToEOS(ctx, p, c.linkErr); err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("recorder: concat: %w", err)
	}
	return nil
}

type concatGraph struct {
	p  *gst.Pipeline
	mu sync.Mutex
	// err is the first failure inside a pad-added callback.
	err error
}

func (c *concatGraph) linkErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *concatGraph) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// add creates an element in the pipeline.
func (c *concatGraph) add(factory, name string, props map[string]any) (*gst.Element, error) {
	e, err := newElement(factory, name, props)
	if err != nil {
		return nil, err
	}
	if err := c.p.Add(e); err != nil {
		return nil, fmt.Errorf("%w: add %s: %w", ErrPipeline, name, err)
	}
	return e, nil
}

func (c *concatGraph) build(segments []string, out string, audio bool) error {
	mux, err := c.add("mp4mux", "mux", map[string]any{"faststart": true})
	if err != nil {
		return err
	}
	sink, err := c.add("filesink", "file", map[string]any{"location": out})
	if err != nil {
		return err
	}
	if err := linkChain(mux, sink); err != nil {
		return err
	}
	kinds := []string{"video"}
	if audio {
		kinds = append(kinds, "audio")
	}
	// inputs[kind][i] is the queue that takes segment i's stream of that kind.
	inputs := map[string][]*gst.Element{}
	for _, kind := range kinds {
		parser, pad := "h264parse", "video_%u"
		if kind == "audio" {
			parser, pad = "aacparse", "audio_%u"
		}
		cat, err := c.add("concat", kind+"-concat", nil)
		if err != nil {
			return err
		}
		parse, err := c.add(parser, kind+"-parse", nil)
		if err != nil {
			return err
		}
		q, err := c.add("queue", kind+"-out", nil)
		if err != nil {
			return err
		}
		if err := linkChain(cat, parse, q); err != nil {
			return err
		}
		mpad := mux.GetRequestPad(pad)
		if mpad == nil {
			return fmt.Errorf("%w: mp4mux has no %s pad", ErrPipeline, pad)
		}
		if err := linkPads(q.GetStaticPad("src"), mpad); err != nil {
			return err
		}
		// Request concat's pads in segment order: that is the play order.
		for i := range segments {
			in, err := c.add("queue", fmt.Sprintf("%s-in-%d", kind, i), nil)
			if err != nil {
				return err
			}
			cpad := cat.GetRequestPad("sink_%u")
			if cpad == nil {
				return fmt.Errorf("%w: concat has no sink pad", ErrPipeline)
			}
			if err := linkPads(in.GetStaticPad("src"), cpad); err != nil {
				return err
			}
			inputs[kind] = append(inputs[kind], in)
		}
	}
	for i, seg := range segments {
		src, err := c.add("filesrc", fmt.Sprintf("src-%d", i), map[string]any{"location": seg})
		if err != nil {
			return err
		}
		demux, err := c.add("qtdemux", fmt.Sprintf("demux-%d", i), nil)
		if err != nil {
			return err
		}
		if err := linkChain(src, demux); err != nil {
			return err
		}
		i := i
		if _, err := demux.Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
			kind, _, _ := strings.Cut(pad.GetName(), "_")
			qs, ok := inputs[kind]
			if !ok {
				return // a stream the recording does not have (or a second one)
			}
			sinkPad := qs[i].GetStaticPad("sink")
			if sinkPad.IsLinked() {
				return
			}
			if err := linkPads(pad, sinkPad); err != nil {
				c.fail(fmt.Errorf("segment %s: %w", segments[i], err))
			}
		}); err != nil {
			return fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
		}
		// A segment without one of the streams ends that stream at once,
		// so concat moves on to the next segment.
		if _, err := demux.Connect("no-more-pads", func(_ *gst.Element) {
			for _, qs := range inputs {
				if pad := qs[i].GetStaticPad("sink"); !pad.IsLinked() {
					pad.SendEvent(gst.NewEOSEvent())
				}
			}
		}); err != nil {
			return fmt.Errorf("%w: no-more-pads: %w", ErrPipeline, err)
		}
	}
	return nil
}

// runToEOS plays a pipeline of file sources until EOS, an error, or ctx ends.
func runToEOS(ctx context.Context, p *gst.Pipeline, extra func() error) error {
	if err := setState(p, gst.StatePlaying); err != nil {
		return err
	}
	bus := p.GetPipelineBus()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(); err != nil {
				return err
			}
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			return setState(p, gst.StateNull)
		case gst.MessageError:
			return errors.Join(busError(msg), extraErr(extra))
		}
	}
}

func extraErr(f func() error) error {
	if f == nil {
		return nil
	}
	return f()
}
