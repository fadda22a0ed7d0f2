package mixer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Config configures one room's mixer. Zero values take the documented defaults.
type Config struct {
	Room             string
	Width, Height    int           // default 1280x720
	FPS              int           // default 30
	VideoCodec       media.Codec   // media.H264 (default) or media.VP8
	VideoBitrateKbps int           // default 2500
	KeyframeInterval time.Duration // default 2s
	Layout           Layout        // default grid, letterbox
	Log              *slog.Logger  // default slog.Default()
	// OnActiveSpeaker, when set, is called from the mixer's goroutine when
	// the loudest participant changes (held for 1.5 s against flicker), in
	// any layout. It must not block.
	OnActiveSpeaker func(participant string)
}

const (
	defaultWidth    = 1280
	defaultHeight   = 720
	defaultFPS      = 30
	defaultBitrate  = 2500
	defaultKeyframe = 2 * time.Second
	maxDimension    = 4096
	maxFPS          = 120
)

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Width == 0 {
		c.Width = defaultWidth
	}
	if c.Height == 0 {
		c.Height = defaultHeight
	}
	if c.FPS == 0 {
		c.FPS = defaultFPS
	}
	if c.VideoCodec == "" {
		c.VideoCodec = media.H264
	}
	if c.VideoBitrateKbps == 0 {
		c.VideoBitrateKbps = defaultBitrate
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = defaultKeyframe
	}
	if c.Layout.Kind == "" {
		c.Layout.Kind = LayoutGrid
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.Log = c.Log.With("room", c.Room)
	switch {
	case c.Width < 16 || c.Width > maxDimension || c.Width%2 != 0:
		return c, fmt.Errorf("%w: width %d must be even and in 16..%d", ErrInvalidConfig, c.Width, maxDimension)
	case c.Height < 16 || c.Height > maxDimension || c.Height%2 != 0:
		return c, fmt.Errorf("%w: height %d must be even and in 16..%d", ErrInvalidConfig, c.Height, maxDimension)
	case c.FPS < 1 || c.FPS > maxFPS:
		return c, fmt.Errorf("%w: fps %d must be in 1..%d", ErrInvalidConfig, c.FPS, maxFPS)
	case c.VideoCodec != media.H264 && c.VideoCodec != media.VP8:
		return c, fmt.Errorf("%w: video codec %q (want H264 or VP8)", ErrInvalidConfig, c.VideoCodec)
	case c.VideoBitrateKbps < 50 || c.VideoBitrateKbps > 50000:
		return c, fmt.Errorf("%w: video bitrate %d kbps must be in 50..50000", ErrInvalidConfig, c.VideoBitrateKbps)
	case c.KeyframeInterval < 100*time.Millisecond || c.KeyframeInterval > time.Minute:
		return c, fmt.Errorf("%w: keyframe interval %s must be in 100ms..1m", ErrInvalidConfig, c.KeyframeInterval)
	}
	if err := c.Layout.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// keyframeFrames is the keyframe interval in frames.
func (c Config) keyframeFrames() int {
	n := int(c.KeyframeInterval * time.Duration(c.FPS) / time.Second)
	return max(n, 1)
}
