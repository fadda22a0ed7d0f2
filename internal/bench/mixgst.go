package bench

import (
	"fmt"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// gstElement makes a named element with properties given in their string form.
func gstElement(factory, name string, props map[string]string) (*gst.Element, error) {
	el, err := gst.NewElementWithName(factory, name)
	if err != nil {
		return nil, fmt.Errorf("%w: element %s (%s): %w", ErrMixPipeline, factory, name, err)
	}
	for k, v := range props {
		if _, err := el.GetPropertyType(k); err != nil {
			return nil, fmt.Errorf("%w: %s has no property %q", ErrMixPipeline, name, k)
		}
		el.SetArg(k, v)
	}
	return el, nil
}

// gstLink links elements in order, naming the failing pair.
func gstLink(els ...*gst.Element) error {
	for i := 0; i+1 < len(els); i++ {
		if err := els[i].Link(els[i+1]); err != nil {
			return fmt.Errorf("%w: link %s → %s: %w", ErrMixPipeline, els[i].GetName(), els[i+1].GetName(), err)
		}
	}
	return nil
}

// gstSetState changes a pipeline's state and waits at most timeout.
func gstSetState(el *gst.Element, state gst.State, timeout time.Duration) error {
	if err := el.SetState(state); err != nil {
		return fmt.Errorf("%w: %s to %s: %w", ErrMixPipeline, el.GetName(), state, err)
	}
	ret, cur := el.GetState(state, gst.ClockTime(timeout.Nanoseconds()))
	if ret == gst.StateChangeFailure || ret == gst.StateChangeAsync {
		return fmt.Errorf("%w: %s to %s: %s (now %s)", ErrMixPipeline, el.GetName(), state, ret, cur)
	}
	return nil
}

// addClipDemux adds filesrc → matroskademux for a WebM clip to pl and
// returns the demuxer, whose pads come as the clip is read.
func addClipDemux(pl *gst.Pipeline, clip string) (*gst.Element, error) {
	src, err := gstElement("filesrc", "src", map[string]string{"location": clip})
	if err != nil {
		return nil, err
	}
	demux, err := gstElement("matroskademux", "demux", nil)
	if err != nil {
		return nil, err
	}
	if err := pl.AddMany(src, demux); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMixPipeline, err)
	}
	if err := gstLink(src, demux); err != nil {
		return nil, err
	}
	return demux, nil
}

// pullBuffer takes an appsink's next buffer; without one it gives the flow
// to return (EOS when the sink has ended, OK for an empty sample).
func pullBuffer(s *app.Sink) (*gst.Buffer, gst.FlowReturn) {
	smp := s.PullSample()
	if smp == nil {
		return nil, gst.FlowEOS
	}
	buf := smp.GetBuffer()
	if buf == nil {
		return nil, gst.FlowOK
	}
	return buf, gst.FlowOK
}
