package recorder

import (
	"fmt"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// trackCodec says how one RTP payload format is depacketized into Matroska.
type trackCodec struct {
	encodingName string // RTP caps encoding-name
	depay        string
	parser       string // "" when the depayloader's output muxes as is
	muxPad       string // matroskamux request pad template
}

func codecFor(info media.TrackInfo) (trackCodec, error) {
	switch strings.ToLower(info.MimeType) {
	case "video/vp8":
		return trackCodec{"VP8", "rtpvp8depay", "", "video_%u"}, nil
	case "video/vp9":
		return trackCodec{"VP9", "rtpvp9depay", "vp9parse", "video_%u"}, nil
	case "video/h264":
		return trackCodec{"H264", "rtph264depay", "h264parse", "video_%u"}, nil
	case "audio/opus":
		return trackCodec{"OPUS", "rtpopusdepay", "opusparse", "audio_%u"}, nil
	}
	return trackCodec{}, fmt.Errorf("%w: %q", ErrCodec, info.MimeType)
}

func (c trackCodec) caps(info media.TrackInfo) string {
	kind := "video"
	if c.muxPad == "audio_%u" {
		kind = "audio"
	}
	return fmt.Sprintf("application/x-rtp,media=%s,clock-rate=%d,encoding-name=%s,payload=%d",
		kind, info.ClockRate, c.encodingName, info.PayloadType)
}
