// Package gstutil holds the few go-gst helpers every pipeline owner in
// Mosaic uses: one GStreamer init, elements made with their properties,
// links whose errors name both ends, bounded state changes and bus errors.
package gstutil

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

var initOnce sync.Once

// Init initializes GStreamer once per process.
func Init() { initOnce.Do(func() { gst.Init(nil) }) }

// Element creates an element named name and sets its properties.
func Element(factory, name string, props map[string]any) (*gst.Element, error) {
	e, err := gst.NewElementWithName(factory, name)
	if err != nil {
		return nil, fmt.Errorf("create %s (%s): %w", name, factory, err)
	}
	for k, v := range props {
		if err := e.SetProperty(k, v); err != nil {
			return nil, fmt.Errorf("%s.%s=%v: %w", name, k, v, err)
		}
	}
	return e, nil
}

// LinkChain links each element to the next one.
func LinkChain(elems ...*gst.Element) error {
	for i := 0; i+1 < len(elems); i++ {
		if err := elems[i].Link(elems[i+1]); err != nil {
			return fmt.Errorf("link %s → %s: %w", elems[i].GetName(), elems[i+1].GetName(), err)
		}
	}
	return nil
}

// SetState changes a pipeline's state and waits up to wait for it to
// settle. A change still in progress after that is an error unless asyncOK
// (sinks that preroll only once data flows, as behind appsrcs fed later).
func SetState(p *gst.Pipeline, s gst.State, wait time.Duration, asyncOK bool) error {
	if err := p.SetState(s); err != nil {
		return fmt.Errorf("set state %s: %w", s, err)
	}
	ret, cur := p.GetState(s, gst.ClockTime(wait.Nanoseconds()))
	switch ret {
	case gst.StateChangeSuccess, gst.StateChangeNoPreroll:
		return nil
	case gst.StateChangeAsync:
		if asyncOK {
			return nil
		}
		return fmt.Errorf("state %s not reached within %s (at %s)", s, wait, cur)
	default:
		return fmt.Errorf("state change to %s failed", s)
	}
}

// BusError turns an ERROR message into an error naming its element.
func BusError(msg *gst.Message) error {
	gerr := msg.ParseError()
	if gerr == nil {
		return fmt.Errorf("error from %s", msg.Source())
	}
	if d := gerr.DebugString(); d != "" {
		return fmt.Errorf("%s: %s (%s)", msg.Source(), gerr.Error(), d)
	}
	return fmt.Errorf("%s: %s", msg.Source(), gerr.Error())
}
