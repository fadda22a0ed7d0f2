package rtmp

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

var initOnce sync.Once

func initGst() { initOnce.Do(func() { gst.Init(nil) }) }

// stateTimeout bounds every state change: a frozen pipeline is an error.
const stateTimeout = 10 * time.Second

func newElement(factory, name string, props map[string]any) (*gst.Element, error) {
	e, err := gst.NewElementWithName(factory, name)
	if err != nil {
		return nil, fmt.Errorf("%w: create %s (%s): %w", ErrPipeline, name, factory, err)
	}
	for k, v := range props {
		if err := e.SetProperty(k, v); err != nil {
			return nil, fmt.Errorf("%w: %s.%s=%v: %w", ErrPipeline, name, k, v, err)
		}
	}
	return e, nil
}

func linkChain(elems ...*gst.Element) error {
	for i := 0; i+1 < len(elems); i++ {
		if err := elems[i].Link(elems[i+1]); err != nil {
			return fmt.Errorf("%w: link %s → %s: %w", ErrPipeline, elems[i].GetName(), elems[i+1].GetName(), err)
		}
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
