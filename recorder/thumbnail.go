package recorder

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// thumbnailAt is how far into the video the thumbnail is taken.
const thumbnailAt = time.Second

// Thumbnail writes a JPEG of the frame about one second into video (or of
// its last frame when it is shorter) to out.
//
//	filesrc → decodebin → videoconvert → jpegenc → appsink (other streams → fakesink)
func Thumbnail(ctx context.Context, video, out string) error {
	if _, err := os.Stat(video); err != nil {
		return fmt.Errorf("%w: %w", ErrNoInput, err)
	}
	initGst()
	p, err := gst.NewPipeline("thumbnail")
	if err != nil {
		return fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer p.SetState(gst.StateNull)
	var elems []*gst.Element
	for _, e := range []struct {
		factory string
		props   map[string]any
	}{
		{"filesrc", map[string]any{"location": video}},
		{"decodebin", nil},
		{"videoconvert", nil},
		{"jpegenc", map[string]any{"quality": 85}},
		{"appsink", map[string]any{"sync": false, "max-buffers": uint(2)}},
	} {
		el, err := newElement(e.factory, "", e.props)
		if err != nil {
			return err
		}
		if err := p.Add(el); err != nil {
			return fmt.Errorf("%w: add %s: %w", ErrPipeline, e.factory, err)
		}
		elems = append(elems, el)
	}
	src, dec, conv, enc, sinkEl := elems[0], elems[1], elems[2], elems[3], elems[4]
	if err := linkChain(src, dec); err != nil {
		return err
	}
	if err := linkChain(conv, enc, sinkEl); err != nil {
		return err
	}
	linkErr := make(chan error, 8)
	if _, err := dec.Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		caps := pad.GetCurrentCaps()
		isVideo := caps != nil && strings.HasPrefix(caps.String(), "video/")
		target := conv.GetStaticPad("sink")
		if !isVideo || target.IsLinked() {
			fake, err := newElement("fakesink", "", map[string]any{"sync": false})
			if err == nil {
				err = p.Add(fake)
			}
			if err == nil {
				fake.SyncStateWithParent()
				err = linkPads(pad, fake.GetStaticPad("sink"))
			}
			if err != nil {
				linkErr <- err
			}
			return
		}
		if err := linkPads(pad, target); err != nil {
			linkErr <- err
		}
	}); err != nil {
		return fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	// Without a video stream, end the video branch so appsink reports EOS.
	if _, err := dec.Connect("no-more-pads", func(_ *gst.Element) {
		if pad := conv.GetStaticPad("sink"); !pad.IsLinked() {
			pad.SendEvent(gst.NewEOSEvent())
		}
	}); err != nil {
		return fmt.Errorf("%w: no-more-pads: %w", ErrPipeline, err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: play: %w", ErrPipeline, err)
	}
	jpeg, err := pullThumbnail(ctx, p, app.SinkFromElement(sinkEl), linkErr)
	if err != nil {
		return fmt.Errorf("recorder: thumbnail of %s: %w", video, err)
	}
	tmp := out + ".part"
	if err := os.WriteFile(tmp, jpeg, 0o644); err != nil {
		return fmt.Errorf("recorder: thumbnail: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recorder: thumbnail: %w", err)
	}
	return nil
}

// pullThumbnail takes encoded frames until one is at thumbnailAt or the
// stream ends, and returns the last one taken.
func pullThumbnail(ctx context.Context, p *gst.Pipeline, sink *app.Sink, linkErr <-chan error) ([]byte, error) {
	bus := p.GetPipelineBus()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-linkErr:
			return nil, err
		default:
		}
		for msg := bus.Pop(); msg != nil; msg = bus.Pop() {
			if msg.Type() == gst.MessageError {
				return nil, busError(msg)
			}
		}
		s := sink.TryPullSample(gst.ClockTime(100 * time.Millisecond))
		if s == nil {
			if sink.IsEOS() {
				if last == nil {
					return nil, ErrNoVideo
				}
				return last, nil
			}
			continue
		}
		buf := s.GetBuffer()
		if buf == nil {
			continue
		}
		last = buf.Bytes()
		if pts := buf.PresentationTimestamp(); pts != gst.ClockTimeNone && time.Duration(pts) >= thumbnailAt {
			return last, nil
		}
	}
}
