package rtmp

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

func setState(p *gst.Pipeline, s gst.State) error {
	// Playing may stay asynchronous: the sink prerolls once data flows.
	if err := gstutil.SetState(p, s, stateTimeout, s == gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: %w", ErrPipeline, err)
	}
	return nil
}

func busError(msg *gst.Message) error {
	return fmt.Errorf("%w: %w", ErrPipeline, gstutil.BusError(msg))
}
