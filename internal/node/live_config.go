package node

import "time"

// LiveConfig configures the composite's live outputs besides WHEP: HLS for
// players and RTMP pushes to streaming platforms.
type LiveConfig struct {
	HLSDisabled      bool          // no /rooms/{room}/hls/ at all
	HLSTokenRequired bool          // HLS requests need a view token (?token=)
	HLSSegmentCount  int           // sliding window (default 7)
	HLSPartDuration  time.Duration // LL-HLS part target (default 200ms)
	RTMPMaxPerRoom   int           // RTMP outputs per room (default 4)
}
