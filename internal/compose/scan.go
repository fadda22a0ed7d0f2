package compose

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// scanTimeout bounds the scan of one track file (demuxing only).
const scanTimeout = 2 * time.Minute

// extent is where a track file's media lies on its own timeline: first is
// the running time of its first buffer, end that of the end of its last.
type extent struct {
	first, end time.Duration
	shift      time.Duration // the first time segment's start minus base
}

func (e extent) length() time.Duration { return e.end - e.first }

// scan demuxes a track file without decoding it to find its extent:
//
//	filesrc → parsebin → fakesink (a probe notes segment and buffer times)
func scan(ctx context.Context, path string) (extent, error) {
	initGst()
	p, err := gst.NewPipeline("compose-scan")
	if err != nil {
		return extent{}, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer stop(p)
	elems, err := addChain(p, el("filesrc", map[string]any{"location": path}), el("parsebin", nil))
	if err != nil {
		return extent{}, err
	}
	var mu sync.Mutex
	ext := extent{first: -1}
	linkErr := make(chan error, 4)
	if _, err := elems[1].Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		sink, err := newElement("fakesink", map[string]any{"sync": false, "async": false})
		if err == nil {
			err = p.Add(sink)
		}
		if err == nil {
			sink.SyncStateWithParent()
			err = linkPads(pad, sink.GetStaticPad("sink"))
		}
		if err != nil {
			linkErr <- err
			return
		}
		var seg *gst.Segment
		pad.AddProbe(gst.PadProbeTypeBuffer|gst.PadProbeTypeEventDownstream, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
			if info.Type()&gst.PadProbeTypeEventDownstream != 0 {
				if ev := info.GetEvent(); ev != nil && ev.Type() == gst.EventTypeSegment {
					seg = ev.ParseSegment()
					mu.Lock()
					if ext.first < 0 && seg.GetFormat() == gst.FormatTime {
						ext.shift = time.Duration(segmentShift(seg))
					}
					mu.Unlock()
				}
				return gst.PadProbeOK
			}
			buf := info.GetBuffer()
			if buf == nil || seg == nil {
				return gst.PadProbeOK
			}
			pts := buf.PresentationTimestamp()
			if pts == gst.ClockTimeNone {
				pts = buf.DecodingTimestamp()
			}
			if pts == gst.ClockTimeNone {
				return gst.PadProbeOK
			}
			rt := seg.ToRunningTimeFull(gst.FormatTime, uint64(pts))
			if rt < 0 {
				return gst.PadProbeOK
			}
			t := time.Duration(rt)
			end := t
			if d := buf.Duration(); d != gst.ClockTimeNone {
				end += time.Duration(d)
			}
			mu.Lock()
			if ext.first < 0 || t < ext.first {
				ext.first = t
			}
			ext.end = max(ext.end, end)
			mu.Unlock()
			return gst.PadProbeOK
		})
	}); err != nil {
		return extent{}, fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return extent{}, fmt.Errorf("%w: %s: play: %w", ErrTrack, path, err)
	}
	bus := p.GetPipelineBus()
	deadline := time.Now().Add(scanTimeout)
	for {
		select {
		case <-ctx.Done():
			return extent{}, ctx.Err()
		case err := <-linkErr:
			return extent{}, err
		default:
		}
		if time.Now().After(deadline) {
			return extent{}, fmt.Errorf("%w: scan of %s not done within %s", ErrFrozen, path, scanTimeout)
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageError:
			return extent{}, fmt.Errorf("%w: %s: %w", ErrTrack, path, busError(msg))
		case gst.MessageEOS:
			mu.Lock()
			defer mu.Unlock()
			if ext.first < 0 || ext.end <= ext.first {
				return extent{}, fmt.Errorf("%w: %s holds no media", ErrTrack, path)
			}
			return ext, nil
		}
	}
}

// MediaDuration measures how long a media file's streams last, by
// demuxing it (no decoding).
func MediaDuration(ctx context.Context, path string) (time.Duration, error) {
	ext, err := scan(ctx, path)
	if err != nil {
		return 0, err
	}
	return ext.length(), nil
}

// segmentShift is pts minus running time in seg (start - base), for a
// forward time segment.
func segmentShift(seg *gst.Segment) int64 {
	return int64(seg.GetStart()) - int64(seg.GetBase())
}
