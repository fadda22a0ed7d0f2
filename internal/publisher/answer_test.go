package publisher

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestCheckAccepted(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	video := func(port, dir, codec string) string {
		return "m=video " + port + " UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=" + dir + "\r\na=rtpmap:96 " + codec + "/90000\r\n"
	}
	audio := "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}
	cases := []struct {
		name, sdp string
		reason    string // empty: accepted
	}{
		{"accepted", head + video("9", "recvonly", "VP8") + audio, ""},
		{"sendrecv accepted", head + video("9", "sendrecv", "vp8") + audio, ""},
		{"port zero", head + video("0", "recvonly", "VP8") + audio, "m-line rejected"},
		{"inactive", head + video("9", "inactive", "VP8") + audio, "m-line inactive"},
		{"sendonly", head + video("9", "sendonly", "VP8") + audio, "m-line sendonly"},
		{"other codec", head + video("9", "recvonly", "H264") + audio, "codec not in the answer"},
		{"no video", head + audio, "no video m-line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkAccepted(c.sdp, vp8, opus)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTrackRefused) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err = %v, want ErrTrackRefused with %q", err, c.reason)
			}
		})
	}
	if err := checkAccepted("not sdp", vp8); !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("garbage answer: err = %v", err)
	}
}
