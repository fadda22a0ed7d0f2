package mixer

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-gst/go-glib/glib"
	"github.com/go-gst/go-gst/gst"
)

var initOnce sync.Once

// initGst initialises GStreamer once per process.
func initGst() { initOnce.Do(func() { gst.Init(nil) }) }

// prop is one element property, given as its string form (as gst-launch
// would take it) so enums, fractions and caps all go through one path.
type prop struct{ name, value string }

func p(name string, value any) prop { return prop{name, fmt.Sprint(value)} }

// element makes a named element and sets its properties; a missing factory
// or an unknown property is an error naming both.
func element(factory, name string, props ...prop) (*gst.Element, error) {
	el, err := gst.NewElementWithName(factory, name)
	if err != nil {
		return nil, fmt.Errorf("%w: element %s (%s) not available: %w", ErrPipeline, factory, name, err)
	}
	if err := setProps(el, props...); err != nil {
		return nil, err
	}
	return el, nil
}

// propSetter is an element or a pad.
type propSetter interface {
	GetPropertyType(name string) (glib.Type, error)
	SetArg(name, value string)
	GetName() string
}

func setProps(el propSetter, props ...prop) error {
	for _, pr := range props {
		if _, err := el.GetPropertyType(pr.name); err != nil {
			return fmt.Errorf("%w: %s has no property %q", ErrPipeline, el.GetName(), pr.name)
		}
		el.SetArg(pr.name, pr.value)
	}
	return nil
}

// hasFactory reports whether an element factory is installed.
func hasFactory(name string) bool { return gst.Find(name) != nil }

// linkChain links elements in order, naming the failing pair.
func linkChain(els ...*gst.Element) error {
	for i := 0; i+1 < len(els); i++ {
		if err := els[i].Link(els[i+1]); err != nil {
			return fmt.Errorf("%w: link %s → %s: %w", ErrPipeline, els[i].GetName(), els[i+1].GetName(), err)
		}
	}
	return nil
}

// linkPads links two pads, naming both ends.
func linkPads(src, sink *gst.Pad) error {
	if ret := src.Link(sink); ret != gst.PadLinkOK {
		return fmt.Errorf("%w: link pad %s:%s → %s:%s: %s", ErrPipeline,
			parentName(src), src.GetName(), parentName(sink), sink.GetName(), ret)
	}
	return nil
}

func parentName(pad *gst.Pad) string {
	if el := pad.GetParentElement(); el != nil {
		return el.GetName()
	}
	return "?"
}

// setState changes el's state and waits at most timeout for it to complete.
func setState(el *gst.Element, state gst.State, timeout time.Duration) error {
	if err := el.SetState(state); err != nil {
		return fmt.Errorf("%w: %s to %s: %w", ErrPipeline, el.GetName(), state, err)
	}
	ret, cur := el.GetState(state, gst.ClockTime(timeout.Nanoseconds()))
	switch ret {
	case gst.StateChangeFailure:
		return fmt.Errorf("%w: %s to %s failed", ErrPipeline, el.GetName(), state)
	case gst.StateChangeAsync:
		return fmt.Errorf("%w: %s to %s (still %s after %s)", ErrStateTimeout, el.GetName(), state, cur, timeout)
	}
	return nil
}

// clockDuration converts a GStreamer time to a Duration; ok is false for "none".
func clockDuration(t gst.ClockTime) (time.Duration, bool) {
	if t == gst.ClockTimeNone {
		return 0, false
	}
	return time.Duration(uint64(t)), true
}
