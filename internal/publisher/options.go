package publisher

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"
)

// Options configures one Publish call.
type Options struct {
	URL   string // WHIP endpoint, e.g. http://127.0.0.1:8080/rooms/demo/whip
	Token string // bearer token (may be empty)
	// File is a WebM (or Matroska) with VP8 or H.264 (no B-frames) video
	// and/or Opus audio, sent in real time by the file's timestamps.
	File string
	// TestPattern sends pion/mediadevices test video (640x480) and a sine tone
	// through real encoders instead of a file.
	TestPattern bool
	Codec       string        // "vp8" (default) or "h264"; TestPattern only
	Duration    time.Duration // stop after this much media (0: until ctx ends or the file ends)
	Loop        bool          // restart the file at its end
	Progress    io.Writer     // if set, a progress line about once a second
	Log         *slog.Logger
	ICEServers  []webrtc.ICEServer
	// ConnectTimeout bounds POST until the peer connection is up (default 20 s).
	ConnectTimeout time.Duration
}

// Stats summarises a publish session.
type Stats struct {
	Duration      time.Duration // media time sent
	VideoFrames   int
	AudioFrames   int
	VideoBytes    int64
	AudioBytes    int64
	PacketsSent   int
	NACKsReceived int           // NACK messages from the server
	PLIsReceived  int           // PLI and FIR messages from the server
	RTT           time.Duration // last round-trip time from receiver reports
	SetupTime     time.Duration // POST until the peer connection is connected
}

const (
	codecVP8  = "vp8"
	codecH264 = "h264"
)

func (o *Options) normalize() error {
	if (o.File == "") == !o.TestPattern {
		return ErrNoSource
	}
	if o.URL == "" {
		return fmt.Errorf("%w: URL is empty", ErrBadOptions)
	}
	switch o.Codec {
	case "":
		o.Codec = codecVP8
	case codecVP8, codecH264:
	default:
		return fmt.Errorf("%w: codec %q (want vp8 or h264)", ErrBadOptions, o.Codec)
	}
	if o.File != "" && o.Codec != codecVP8 {
		return fmt.Errorf("%w: codec applies to the test pattern only", ErrBadOptions)
	}
	if o.Duration < 0 {
		return fmt.Errorf("%w: negative duration", ErrBadOptions)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 20 * time.Second
	}
	return nil
}
