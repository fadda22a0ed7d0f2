package mixer

import "errors"

var (
	// ErrUnsupportedCodec is returned by AddTrack for a MIME type the mixer cannot decode.
	ErrUnsupportedCodec = errors.New("mixer: unsupported codec")
	// ErrInvalidLayout is returned by Layout.Validate and SetLayout.
	ErrInvalidLayout = errors.New("mixer: invalid layout")
	// ErrInvalidConfig is returned by New for a configuration it cannot honour.
	ErrInvalidConfig = errors.New("mixer: invalid config")
	// ErrInvalidGain is returned by SetGain for a gain outside 0..MaxGain.
	ErrInvalidGain = errors.New("mixer: invalid gain")
	// ErrBadPacket is returned by a track sink for data that is not an RTP packet.
	ErrBadPacket = errors.New("mixer: bad RTP packet")
	// ErrClosed is returned once the mixer or an input has been closed.
	ErrClosed = errors.New("mixer: closed")
	// ErrPipeline wraps GStreamer failures: missing elements, failed links, errors on the bus.
	ErrPipeline = errors.New("mixer: pipeline")
	// ErrStateTimeout is returned when a state change does not complete in time.
	ErrStateTimeout = errors.New("mixer: state change timed out")
)
