package recorder

import "errors"

var (
	// ErrClosed is returned by Write after Close or after the pipeline failed.
	ErrClosed = errors.New("recorder: closed")
	// ErrConfig reports an invalid Config or TrackConfig.
	ErrConfig = errors.New("recorder: invalid config")
	// ErrSample reports a sample that cannot be recorded (empty data, bad timestamps).
	ErrSample = errors.New("recorder: invalid sample")
	// ErrPipeline reports a GStreamer element, link, state or bus failure.
	ErrPipeline = errors.New("recorder: pipeline")
	// ErrPush reports that appsrc refused a buffer.
	ErrPush = errors.New("recorder: push refused")
	// ErrNotMP4 reports a file that is not a readable (fragmented) MP4.
	ErrNotMP4 = errors.New("recorder: not a readable mp4")
	// ErrNoFragment reports an MP4 segment without a single complete fragment.
	ErrNoFragment = errors.New("recorder: no complete fragment")
	// ErrNoInput reports an empty input list or a missing file.
	ErrNoInput = errors.New("recorder: no input")
	// ErrNoVideo reports a file without a decodable video stream.
	ErrNoVideo = errors.New("recorder: no video")
)

var (
	// ErrRTP reports a packet that is not RTP of the track.
	ErrRTP = errors.New("recorder: bad rtp packet")
	// ErrCodec reports a track codec the raw-track recorder cannot store.
	ErrCodec = errors.New("recorder: unsupported track codec")
)
