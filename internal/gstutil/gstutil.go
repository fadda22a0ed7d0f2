// Package gstutil holds the few go-gst helpers every pipeline owner in
// Mosaic uses: one GStreamer init, elements made with their properties, and
// links whose errors name both ends.
package gstutil

import (
	"fmt"
	"sync"

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
