package compose

import "errors"

var (
	// ErrNoTracks is returned for a composition without a single track.
	ErrNoTracks = errors.New("compose: no tracks")
	// ErrLayout is returned for an unknown or invalid layout.
	ErrLayout = errors.New("compose: invalid layout")
	// ErrRange is returned when the time range lies outside the recording.
	ErrRange = errors.New("compose: time range outside the recording")
	// ErrSpec is returned for other unusable parameters (size, fps, output).
	ErrSpec = errors.New("compose: invalid spec")
	// ErrTrack is returned for a track file that cannot be read.
	ErrTrack = errors.New("compose: unreadable track")
	// ErrPipeline reports a GStreamer element, link, state or bus failure.
	ErrPipeline = errors.New("compose: pipeline")
	// ErrFrozen is returned when the render makes no progress for too long.
	ErrFrozen = errors.New("compose: pipeline frozen")
	// ErrNotFound is returned for an unknown composition.
	ErrNotFound = errors.New("compose: composition not found")
)
