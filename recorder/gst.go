package recorder

import (
	"fmt"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/gstutil"
)

func initGst() { gstutil.Init() }

// stateTimeout bounds every state change: a frozen pipeline is an error.
const stateTimeout = 10 * time.Second

// newElement creates an element and sets its properties.
func newElement(factory, name string, props map[string]any) (*gst.Element, error) {
	e, err := gstutil.Element(factory, name, props)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPipeline, err)
	}
	return e, nil
}

// linkChain links each element to the next one, naming both ends on failure.
func linkChain(elems ...*gst.Element) error {
	if err := gstutil.LinkChain(elems...); err != nil {
		return fmt.Errorf("%w: %w", ErrPipeline, err)
	}
	return nil
}

// linkPads links src to sink and turns a refusal into an error.
func linkPads(src, sink *gst.Pad) error {
	if ret := src.Link(sink); ret != gst.PadLinkOK {
		return fmt.Errorf("%w: link pad %s → %s: code %v", ErrPipeline, src.GetName(), sink.GetName(), ret)
	}
	return nil
}

// setState changes the pipeline state and waits (bounded) for it to settle.
func setState(p *gst.Pipeline, s gst.State) error { return changeState(p, s, stateTimeout, false) }

// startFed sets playing a pipeline whose appsrcs are fed later: its sinks
// preroll only once data flows, so an asynchronous change is not waited for.
// GetState would block for the whole timeout on a change that only data
// can complete: the result is just read.
func startFed(p *gst.Pipeline) error { return changeState(p, gst.StatePlaying, 0, true) }

func changeState(p *gst.Pipeline, s gst.State, wait time.Duration, asyncOK bool) error {
	if err := gstutil.SetState(p, s, wait, asyncOK); err != nil {
		return fmt.Errorf("%w: %w", ErrPipeline, err)
	}
	return nil
}

// busError turns an ERROR message into a Go error.
func busError(msg *gst.Message) error {
	return fmt.Errorf("%w: %w", ErrPipeline, gstutil.BusError(msg))
}

// stopPipeline sets a pipeline to NULL, bounded in time. If GStreamer does
// not return (a streaming thread stuck in an element), the pipeline is
// reported frozen and abandoned instead of hanging its owner.
func stopPipeline(p *gst.Pipeline) error {
	done := make(chan error, 1)
	go func() { done <- setState(p, gst.StateNull) }()
	select {
	case err := <-done:
		return err
	case <-time.After(stateTimeout):
		return fmt.Errorf("%w: pipeline frozen: NULL not reached within %s", ErrPipeline, stateTimeout)
	}
}
