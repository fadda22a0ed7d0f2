package mixer

import (
	"fmt"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// codecSpec is how one incoming RTP codec is depayloaded and decoded.
type codecSpec struct {
	kind     media.Kind
	encoding string // RTP encoding-name in caps
	clock    uint32 // default clock rate
	depay    string
	parse    string // optional parser between depayloader and decoder
	decoder  string
	decProps []prop // max-errors -1: a corrupt frame is a warning (and a keyframe request), never fatal
	// VP8 decodes on one thread: a room runs several decoders on few cores,
	// where libvpx's row threads only add synchronisation (measured with
	// mosaic bench mix).
}

var codecSpecs = map[string]codecSpec{
	"video/vp8":  {kind: media.Video, encoding: "VP8", clock: 90000, depay: "rtpvp8depay", decoder: "vp8dec", decProps: []prop{p("threads", 1), p("max-errors", -1)}},
	"video/vp9":  {kind: media.Video, encoding: "VP9", clock: 90000, depay: "rtpvp9depay", decoder: "vp9dec", decProps: []prop{p("threads", 2), p("max-errors", -1)}},
	"video/h264": {kind: media.Video, encoding: "H264", clock: 90000, depay: "rtph264depay", parse: "h264parse", decoder: "avdec_h264", decProps: []prop{p("max-threads", 2), p("max-errors", -1)}},
	"audio/opus": {kind: media.Audio, encoding: "OPUS", clock: 48000, depay: "rtpopusdepay", decoder: "opusdec", decProps: []prop{p("plc", true), p("use-inband-fec", true), p("max-errors", -1)}},
}

// specFor finds the codec of a track, or ErrUnsupportedCodec.
func specFor(info media.TrackInfo) (codecSpec, error) {
	spec, ok := codecSpecs[strings.ToLower(info.MimeType)]
	if !ok {
		return spec, fmt.Errorf("%w: %q (want video/VP8, video/VP9, video/H264 or audio/opus)", ErrUnsupportedCodec, info.MimeType)
	}
	if info.Kind != "" && info.Kind != spec.kind {
		return spec, fmt.Errorf("%w: %q is %s, track says %s", ErrUnsupportedCodec, info.MimeType, spec.kind, info.Kind)
	}
	return spec, nil
}

// rtpCaps are the appsrc caps for a track.
func (s codecSpec) rtpCaps(info media.TrackInfo) string {
	clock := info.ClockRate
	if clock == 0 {
		clock = s.clock
	}
	caps := fmt.Sprintf("application/x-rtp,media=%s,clock-rate=%d,encoding-name=%s,payload=%d",
		s.kind, clock, s.encoding, info.PayloadType)
	if s.kind == media.Audio {
		caps += ",encoding-params=(string)2"
	}
	return caps
}
