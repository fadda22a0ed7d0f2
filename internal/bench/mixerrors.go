package bench

import "errors"

var (
	// ErrMixPipeline wraps GStreamer failures of the mix benchmark's feeders.
	ErrMixPipeline = errors.New("bench: mix pipeline")
	// ErrBareFailed is returned when the bare GStreamer reference pipeline fails.
	ErrBareFailed = errors.New("bench: bare composite failed")
)
