package rtmp

import "errors"

var (
	// ErrBadURL: the output URL is not rtmp:// or rtmps://host/app/key.
	ErrBadURL = errors.New("invalid output url")
	// ErrNoSuchRoom: the room is not live on this node.
	ErrNoSuchRoom = errors.New("no such room")
	// ErrNoSuchOutput: no output with that id in the room.
	ErrNoSuchOutput = errors.New("no such output")
	// ErrTooMany: the room has as many outputs as allowed.
	ErrTooMany = errors.New("too many outputs")
	// ErrUnsupported: the composite is not H264 (FLV needs H264 + AAC).
	ErrUnsupported = errors.New("rtmp needs an H264 composite")
	// ErrPipeline: GStreamer could not build or run the output pipeline.
	ErrPipeline = errors.New("rtmp pipeline")
	// ErrBadTLS: the output's TLS options are invalid (or given for rtmp://).
	ErrBadTLS = errors.New("invalid rtmps options")
	// ErrTLS: the TLS connection to an rtmps server failed (certificate
	// not trusted, wrong host, handshake).
	ErrTLS = errors.New("rtmps connection")
	// ErrClosed: the manager is shut down.
	ErrClosed = errors.New("rtmp outputs closed")
)
