// Package recorder writes the room composite's encoded samples into
// crash-safe segment files (fragmented MP4, one fragment flushed to disk every
// FragmentDuration) and records raw tracks into Matroska files. It knows
// nothing of WebRTC: it takes media.Sample and RTP packets.
package recorder

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Defaults for Config.
const (
	DefaultSegmentDuration  = 6 * time.Second
	DefaultFragmentDuration = time.Second
)

// Config configures a Recorder.
type Config struct {
	// Dir is where segment files go (created): seg-00001.mp4, seg-00002.mp4, …
	Dir string
	// Info describes the composite: Width/Height/FPS, VideoCodec (H264),
	// AudioConfig (AAC AudioSpecificConfig), AudioSampleRate, AudioChannels.
	// Without AudioConfig the recording has video only.
	Info media.StreamInfo
	// SegmentDuration is the target segment length (default 6 s); a segment
	// is split at the first keyframe after it.
	SegmentDuration time.Duration
	// FragmentDuration is the fragmented-MP4 fragment length (default 1 s);
	// every closed fragment is on disk and readable after a crash.
	FragmentDuration time.Duration
	// OnSegment is called from the recorder's goroutine when a segment file
	// is closed and complete.
	OnSegment func(Segment)
	Log       *slog.Logger
}

// Segment is one closed segment file.
type Segment struct {
	Index    int
	Path     string
	Start    time.Duration // since the start of the recording
	Duration time.Duration
	Size     int64
	SHA256   string // hex
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Dir == "" {
		return out, fmt.Errorf("%w: Dir is empty", ErrConfig)
	}
	if out.Info.VideoCodec != "" && out.Info.VideoCodec != media.H264 {
		return out, fmt.Errorf("%w: video codec %q (only H264)", ErrConfig, out.Info.VideoCodec)
	}
	if out.Info.Width <= 0 || out.Info.Height <= 0 {
		return out, fmt.Errorf("%w: size %dx%d", ErrConfig, out.Info.Width, out.Info.Height)
	}
	if out.Info.FPS <= 0 {
		out.Info.FPS = 30
	}
	if len(out.Info.AudioConfig) > 0 && (out.Info.AudioSampleRate <= 0 || out.Info.AudioChannels <= 0) {
		return out, fmt.Errorf("%w: audio %d Hz × %d channels", ErrConfig, out.Info.AudioSampleRate, out.Info.AudioChannels)
	}
	if out.SegmentDuration <= 0 {
		out.SegmentDuration = DefaultSegmentDuration
	}
	if out.FragmentDuration <= 0 {
		out.FragmentDuration = DefaultFragmentDuration
	}
	if out.FragmentDuration < time.Millisecond {
		out.FragmentDuration = time.Millisecond
	}
	if out.Log == nil {
		out.Log = slog.Default()
	}
	return out, nil
}
