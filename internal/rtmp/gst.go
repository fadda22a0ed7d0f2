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
	if err := p.SetState(s); err != nil {
		return fmt.Errorf("%w: set state %s: %w", ErrPipeline, s, err)
	}
	ret, cur := p.GetState(s, gst.ClockTime(stateTimeout.Nanoseconds()))
	switch ret {
	case gst.StateChangeSuccess, gst.StateChangeNoPreroll:
		return nil
	case gst.StateChangeAsync:
		if s == gst.StatePlaying {
			return nil // the sink prerolls once data flows
		}
		return fmt.Errorf("%w: state %s not reached within %s (at %s)", ErrPipeline, s, stateTimeout, cur)
	default:
		return fmt.Errorf("%w: state change to %s failed", ErrPipeline, s)
	}
}

func busError(msg *gst.Message) error {
	gerr := msg.ParseError()
	if gerr == nil {
		return fmt.Errorf("%w: error from %s", ErrPipeline, msg.Source())
	}
	return fmt.Errorf("%w: %s: %s", ErrPipeline, msg.Source(), gerr.Error())
}
