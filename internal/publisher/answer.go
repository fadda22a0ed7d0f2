package publisher

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// checkAccepted verifies that the answer takes every track we send: an
// m-line of its kind with a port, a direction that receives, and the track's
// codec among its formats.
func checkAccepted(answer string, sent ...webrtc.RTPCodecCapability) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return fmt.Errorf("%w: answer SDP: %w", ErrBadAnswer, err)
	}
	for _, c := range sent {
		kind, name, _ := strings.Cut(c.MimeType, "/")
		if err := receives(&d, kind, name); err != nil {
			return fmt.Errorf("%w: %s %s: %s", ErrTrackRefused, kind, name, err)
		}
	}
	return nil
}

func receives(d *sdp.SessionDescription, kind, codec string) error {
	reason := "no " + kind + " m-line in the answer"
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != kind {
			continue
		}
		if m.MediaName.Port.Value == 0 {
			reason = "m-line rejected"
			continue
		}
		if _, ok := m.Attribute("inactive"); ok {
			reason = "m-line inactive"
			continue
		}
		if _, ok := m.Attribute("sendonly"); ok {
			reason = "m-line sendonly"
			continue
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			// "96 VP8/90000"
			_, enc, _ := strings.Cut(a.Value, " ")
			name, _, _ := strings.Cut(enc, "/")
			if strings.EqualFold(name, codec) {
				return nil
			}
		}
		reason = "codec not in the answer"
	}
	return fmt.Errorf("%s", reason)
}
