package main

import (
	"github.com/spf13/pflag"

	"github.com/mosaic-rtc/mosaic/internal/node"
)

// liveFlags are serve's flags for the composite's HLS and RTMP outputs.
func liveFlags(f *pflag.FlagSet, c *node.LiveConfig) {
	f.BoolVar(&c.HLSDisabled, "hls-disabled", false, "do not serve /rooms/{room}/hls/")
	f.BoolVar(&c.HLSTokenRequired, "hls-token-required", false, "HLS needs a view token for the room (?token=)")
	f.IntVar(&c.HLSSegmentCount, "hls-segment-count", 7, "HLS sliding window in segments (at least 7)")
	f.DurationVar(&c.HLSPartDuration, "hls-part-duration", 0, "Low-Latency HLS part target (default 200ms)")
	f.IntVar(&c.RTMPMaxPerRoom, "rtmp-max-outputs", 4, "RTMP outputs allowed per room")
	f.StringVar(&c.RTMPSCAFile, "rtmps-ca-file", "", "PEM certificate authorities rtmps:// outputs trust besides the system's")
}
