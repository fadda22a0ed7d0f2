package mixer

import (
	"fmt"
	"sync/atomic"

	"github.com/go-gst/go-glib/glib"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Stats are the mixer's counters since New.
type Stats struct {
	Inputs           int    // tracks currently mixed
	Placeholders     int    // name cards shown for participants without video
	InputsAdded      uint64 // tracks ever added
	InputsFailed     uint64 // tracks removed because their branch failed
	PacketsIn        uint64 // RTP packets accepted from all tracks
	PacketsDropped   uint64 // RTP packets refused (malformed, or the input was full or gone)
	Overruns         uint64 // times a leaky queue (input or encoder) was full and dropped data
	VideoFrames      uint64 // encoded composite video frames
	Keyframes        uint64 // of which keyframes
	AACFrames        uint64
	OpusFrames       uint64
	KeyframeRequests uint64 // keyframes forced on the encoder
	Untimed          uint64 // encoded buffers without a timestamp (not published)
}

type counters struct {
	inputsAdded, inputsFailed atomic.Uint64
	packetsIn, packetsDropped atomic.Uint64
	overruns                  atomic.Uint64
	videoFrames, keyframes    atomic.Uint64
	aacFrames, opusFrames     atomic.Uint64
	keyframeRequests, untimed atomic.Uint64
}

func (c *counters) countOutput(codec media.Codec, key bool) {
	switch codec {
	case media.AAC:
		c.aacFrames.Add(1)
	case media.Opus:
		c.opusFrames.Add(1)
	default:
		c.videoFrames.Add(1)
		if key {
			c.keyframes.Add(1)
		}
	}
}

func (c *counters) snapshot(inputs int) Stats {
	return Stats{
		Inputs:           inputs,
		InputsAdded:      c.inputsAdded.Load(),
		InputsFailed:     c.inputsFailed.Load(),
		PacketsIn:        c.packetsIn.Load(),
		PacketsDropped:   c.packetsDropped.Load(),
		Overruns:         c.overruns.Load(),
		VideoFrames:      c.videoFrames.Load(),
		Keyframes:        c.keyframes.Load(),
		AACFrames:        c.aacFrames.Load(),
		OpusFrames:       c.opusFrames.Load(),
		KeyframeRequests: c.keyframeRequests.Load(),
		Untimed:          c.untimed.Load(),
	}
}

// countOverruns counts a leaky queue's "overrun" signals.
func (c *counters) countOverruns(queue interface {
	Connect(string, any) (glib.SignalHandle, error)
}) error {
	if _, err := queue.Connect("overrun", func() { c.overruns.Add(1) }); err != nil {
		return fmt.Errorf("%w: overrun signal: %w", ErrPipeline, err)
	}
	return nil
}
