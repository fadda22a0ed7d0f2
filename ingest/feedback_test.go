package ingest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The answer asks publishers for Opus in-band FEC and DTX, and offers
// transport-wide congestion control feedback for video, whatever the offer
// says about them.
func TestAnswerNegotiatesOpusFECDTXAndTWCC(t *testing.T) {
	h := newHarness(t)
	token := h.token(t, "fb", auth.RolePublish)
	api, _ := browserLikeAPI(t, nil)
	cases := []struct {
		name  string
		offer func(t *testing.T) string
		twcc  bool // the offer has transport-cc feedback and its header extension
	}{
		{"pion with TWCC", func(t *testing.T) string { return offerWith(t, api) }, true},
		{"pion defaults", func(t *testing.T) string { return clientOffer(t) }, true},
		{"no fmtp, no TWCC", func(*testing.T) string {
			return handOffer("audio sendonly 111:opus/48000/2", "video sendonly 96:VP8/90000")
		}, false},
		{"FEC and DTX off", func(t *testing.T) string {
			return strings.Replace(handOffer("audio sendonly 111:opus/48000/2", "video sendonly 96:VP8/90000"),
				"a=rtpmap:111 opus/48000/2\r\n", "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=0;usedtx=0;stereo=1\r\n", 1)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(t, http.MethodPost, "/rooms/fb/whip", token, "application/sdp", []byte(c.offer(t)))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			defer h.do(t, http.MethodDelete, resp.Header.Get("Location"), "", "", nil)
			var sd sdp.SessionDescription
			if err := sd.UnmarshalString(string(body)); err != nil {
				t.Fatal(err)
			}
			var audio, video bool
			for _, md := range sd.MediaDescriptions {
				pts := map[string]string{}
				for _, a := range md.Attributes {
					if a.Key == "rtpmap" {
						pt, name, _ := strings.Cut(a.Value, " ")
						pts[pt] = strings.ToLower(name)
					}
				}
				switch md.MediaName.Media {
				case "audio":
					audio = true
					fmtp := fmtpOf(md, pts, "opus/48000/2")
					for _, want := range []string{"useinbandfec=1", "usedtx=1"} {
						if !strings.Contains(fmtp, want) {
							t.Errorf("opus fmtp %q lacks %s", fmtp, want)
						}
					}
					if strings.Count(fmtp, "usedtx") != 1 || strings.Count(fmtp, "useinbandfec") != 1 {
						t.Errorf("opus fmtp %q repeats a parameter", fmtp)
					}
				case "video":
					video = true
					vp8 := ""
					for pt, name := range pts {
						if name == "vp8/90000" {
							vp8 = pt
						}
					}
					if c.twcc && !hasAttr(md, "rtcp-fb", vp8+" transport-cc") {
						t.Errorf("no a=rtcp-fb:%s transport-cc in the answer", vp8)
					}
					if ext := hasAttrPrefix(md, "extmap", "transport-wide-cc"); ext != c.twcc {
						t.Errorf("transport-cc header extension answered %v, offered %v", ext, c.twcc)
					}
				}
			}
			if !audio || !video {
				t.Fatalf("answer has audio %v, video %v:\n%s", audio, video, body)
			}
		})
	}
}

// offerWith is an offer sending Opus and VP8 from a peer of api.
func offerWith(t *testing.T, api *webrtc.API) string {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	for _, c := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8} {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: c}, c, "s")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return offerOf(t, pc)
}

func fmtpOf(md *sdp.MediaDescription, pts map[string]string, codec string) string {
	for _, a := range md.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		pt, params, _ := strings.Cut(a.Value, " ")
		if pts[pt] == codec {
			return params
		}
	}
	return ""
}

func hasAttr(md *sdp.MediaDescription, key, value string) bool {
	for _, a := range md.Attributes {
		if a.Key == key && a.Value == value {
			return true
		}
	}
	return false
}

func hasAttrPrefix(md *sdp.MediaDescription, key, contains string) bool {
	for _, a := range md.Attributes {
		if a.Key == key && strings.Contains(a.Value, contains) {
			return true
		}
	}
	return false
}

// A publisher that stamps transport-wide sequence numbers gets TWCC
// feedback (and receiver reports) from the server while it sends.
func TestPublisherReceivesTransportFeedback(t *testing.T) {
	h := newHarness(t)
	api, seen := browserLikeAPI(t, nil)
	pub := newTestPublisherOn(t, api, webrtc.MimeTypeVP8)
	pub.publish(t, h, "fb", h.token(t, "fb", auth.RolePublish))
	pub.send(t)
	waitFor(t, "TWCC feedback and receiver reports at the publisher", 15*time.Second, func() bool {
		return seen.count("twcc") >= 10 && seen.count("rr") >= 1
	})
	t.Logf("publisher received %d TWCC feedback packets, %d receiver reports, %d REMB",
		seen.count("twcc"), seen.count("rr"), seen.count("remb"))
}
