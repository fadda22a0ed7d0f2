package compose

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// decodeTimeout bounds a whole decode pass.
const decodeTimeout = time.Hour

// decodeEach decodes the first stream of kind ("video" or "audio") in path
// to caps, from the keyframe before seek on (0: the start), and calls each
// with every buffer's time and bytes until it returns false or the stream
// ends:
//
//	filesrc → decodebin → convert → scale/resample → capsfilter → appsink
func decodeEach(ctx context.Context, path, kind, caps string, seek time.Duration, each func(pts time.Duration, data []byte) bool) error {
	initGst()
	p, err := gst.NewPipeline("compose-decode")
	if err != nil {
		return fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer stop(p)
	src, err := addChain(p, el("filesrc", map[string]any{"location": path}), el("decodebin", nil))
	if err != nil {
		return err
	}
	conv := []elementSpec{el("videoconvert", nil), el("videoscale", nil)}
	if kind == "audio" {
		conv = []elementSpec{el("audioconvert", nil), el("audioresample", nil)}
	}
	chain, err := addChain(p, append(conv,
		el("capsfilter", map[string]any{"caps": gst.NewCapsFromString(caps)}),
		el("appsink", map[string]any{"sync": false, "max-buffers": 8}))...)
	if err != nil {
		return err
	}
	if err := seekDemuxer(src[1], seek, 0); err != nil {
		return err
	}
	head := chain[0].GetStaticPad("sink")
	linkErr := make(chan error, 4)
	if _, err := src[1].Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		c := pad.GetCurrentCaps()
		if c == nil || !strings.HasPrefix(c.String(), kind+"/") || head.IsLinked() {
			fake, err := newElement("fakesink", map[string]any{"sync": false, "async": false})
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
		if err := linkPads(pad, head); err != nil {
			linkErr <- err
		}
	}); err != nil {
		return fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	if _, err := src[1].Connect("no-more-pads", func(_ *gst.Element) {
		if !head.IsLinked() {
			linkErr <- fmt.Errorf("%w: %s has no %s stream", ErrTrack, path, kind)
		}
	}); err != nil {
		return fmt.Errorf("%w: no-more-pads: %w", ErrPipeline, err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: play: %w", ErrPipeline, err)
	}
	sink := app.SinkFromElement(chain[len(chain)-1])
	bus := p.GetPipelineBus()
	deadline := time.Now().Add(decodeTimeout)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-linkErr:
			return err
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: decode of %s not done within %s", ErrFrozen, path, decodeTimeout)
		}
		for msg := bus.Pop(); msg != nil; msg = bus.Pop() {
			if msg.Type() == gst.MessageError {
				return fmt.Errorf("%s: %w", path, busError(msg))
			}
		}
		s := sink.TryPullSample(gst.ClockTime(100 * time.Millisecond))
		if s == nil {
			if sink.IsEOS() {
				return nil
			}
			continue
		}
		buf := s.GetBuffer()
		if buf == nil {
			continue
		}
		if !each(time.Duration(buf.PresentationTimestamp()), buf.Bytes()) {
			return nil
		}
	}
}

// seekSlack is how far past the range's end a track is read.
const seekSlack = time.Second

// seekDemuxer makes decodebin dec play from the keyframe before from to
// until (file times; 0: from the start, to the end). The seek is given to
// its demuxer as soon as decodebin makes one, before any data flows;
// matroskademux and qtdemux hold it until they have read the headers.
func seekDemuxer(dec *gst.Element, from, until time.Duration) error {
	from = max(from, 0)
	if from == 0 && until <= 0 {
		return nil
	}
	stopType, stop := gst.SeekTypeNone, int64(-1)
	if until > 0 {
		stopType, stop = gst.SeekTypeSet, int64(until)
	}
	if _, err := dec.Connect("element-added", func(_ *gst.Element, child *gst.Element) {
		f := child.GetFactory()
		if f == nil || !strings.HasSuffix(f.GetName(), "demux") {
			return
		}
		child.SendEvent(gst.NewSeekEvent(1, gst.FormatTime, gst.SeekFlagKeyUnit|gst.SeekFlagSnapBefore,
			gst.SeekTypeSet, int64(from), stopType, stop))
	}); err != nil {
		return fmt.Errorf("%w: element-added: %w", ErrPipeline, err)
	}
	return nil
}
