package hls

import "errors"

var (
	// ErrNoSuchRoom: the room is not live on this node.
	ErrNoSuchRoom = errors.New("no such room")
	// ErrNotReady: the room's composite has not produced a keyframe in time.
	ErrNotReady = errors.New("hls stream not ready")
	// ErrClosed: the server or the muxer is shut down.
	ErrClosed = errors.New("hls closed")
	// ErrNoVideo: the composite is not H264 (HLS needs H264 here).
	ErrNoVideo = errors.New("hls needs an H264 composite")
)
