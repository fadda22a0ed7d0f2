package compose

import (
	"fmt"
	"time"

	"github.com/go-gst/go-glib/glib"
	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/gstutil"
)

// initGst initializes GStreamer once per process (shared with the
// recorder and the live outputs).
func initGst() { gstutil.Init() }

// stateTimeout bounds every state change: a frozen pipeline is an error.
const stateTimeout = 10 * time.Second

func newElement(factory string, props map[string]any) (*gst.Element, error) {
	e, err := gst.NewElement(factory)
	if err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrPipeline, factory, err)
	}
	if err := setProps(e, factory, props); err != nil {
		return nil, err
	}
	return e, nil
}

// propSetter is an element or a pad.
type propSetter interface {
	GetPropertyType(name string) (glib.Type, error)
	SetArg(name, value string)
	SetProperty(name string, value any) error
}

// setProps sets each property from its string form (enums by nick), caps
// as they are; an unknown property is an error.
func setProps(o propSetter, what string, props map[string]any) error {
	for k, v := range props {
		if _, err := o.GetPropertyType(k); err != nil {
			return fmt.Errorf("%w: %s has no property %q", ErrPipeline, what, k)
		}
		if c, ok := v.(*gst.Caps); ok {
			if err := o.SetProperty(k, c); err != nil {
				return fmt.Errorf("%w: %s.%s: %w", ErrPipeline, what, k, err)
			}
			continue
		}
		o.SetArg(k, fmt.Sprint(v))
	}
	return nil
}

// addChain creates the elements, adds them to p and links them in order.
func addChain(p *gst.Pipeline, specs ...elementSpec) ([]*gst.Element, error) {
	elems := make([]*gst.Element, 0, len(specs))
	for _, s := range specs {
		e, err := newElement(s.factory, s.props)
		if err != nil {
			return nil, err
		}
		if err := p.Add(e); err != nil {
			return nil, fmt.Errorf("%w: add %s: %w", ErrPipeline, s.factory, err)
		}
		elems = append(elems, e)
	}
	if err := gstutil.LinkChain(elems...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPipeline, err)
	}
	return elems, nil
}

type elementSpec struct {
	factory string
	props   map[string]any
}

func el(factory string, props map[string]any) elementSpec { return elementSpec{factory, props} }

func linkPads(src, sink *gst.Pad) error {
	if ret := src.Link(sink); ret != gst.PadLinkOK {
		return fmt.Errorf("%w: link pad %s → %s: %v", ErrPipeline, src.GetName(), sink.GetName(), ret)
	}
	return nil
}

// stop sets p to NULL, bounded in time.
func stop(p *gst.Pipeline) error {
	done := make(chan error, 1)
	go func() {
		if err := p.SetState(gst.StateNull); err != nil {
			done <- fmt.Errorf("%w: stop: %w", ErrPipeline, err)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(stateTimeout):
		return fmt.Errorf("%w: NULL not reached within %s", ErrFrozen, stateTimeout)
	}
}

func busError(msg *gst.Message) error {
	gerr := msg.ParseError()
	if gerr == nil {
		return fmt.Errorf("%w: error from %s", ErrPipeline, msg.Source())
	}
	return fmt.Errorf("%w: %s: %s (%s)", ErrPipeline, msg.Source(), gerr.Error(), gerr.DebugString())
}
