package ingest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/webrtc/v4"
)

// handOffer builds an SDP offer with one section per media line given, each
// "kind direction pt:name/rate ...".
func handOffer(sections ...string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	b.WriteString("a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n")
	b.WriteString("a=group:BUNDLE")
	for i := range sections {
		b.WriteString(" " + string(rune('0'+i)))
	}
	b.WriteString("\r\n")
	for i, s := range sections {
		f := strings.Fields(s)
		var pts []string
		var maps []string
		for _, c := range f[2:] {
			pt, name, _ := strings.Cut(c, ":")
			pts = append(pts, pt)
			if name != "" {
				maps = append(maps, "a=rtpmap:"+pt+" "+name+"\r\n")
			}
		}
		b.WriteString("m=" + f[0] + " 9 UDP/TLS/RTP/SAVPF " + strings.Join(pts, " ") + "\r\n")
		b.WriteString("c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n")
		b.WriteString("a=mid:" + string(rune('0'+i)) + "\r\na=" + f[1] + "\r\na=rtcp-mux\r\n")
		for _, m := range maps {
			b.WriteString(m)
		}
	}
	return b.String()
}

// clientOffer is a real pion offer sending VP8 and Opus.
func clientOffer(t testing.TB) string {
	t.Helper()
	pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	for _, c := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeOpus} {
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

func TestHTTPErrors(t *testing.T) {
	h := newHarness(t)
	h.rooms.full["packed"] = true
	h.rooms.addLive(t, "live")
	offer := []byte(clientOffer(t))
	pub := h.token(t, "lobby", auth.RolePublish)
	view := h.token(t, "lobby", auth.RoleView)
	forger, _ := auth.NewIssuer([]byte("another-secret-of-32-bytes------"))
	forged, _ := forger.Mint("lobby", "mallory", auth.RolePublish, time.Hour)
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{Room: "lobby", Role: auth.RolePublish,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Minute))}}).
		SignedString([]byte("0123456789abcdef0123456789abcdef"))

	cases := []struct {
		name, method, path, token, ctype string
		body                             []byte
		status                           int
		msg                              string // substring of the error, or all of it after "="
	}{
		{"wrong content type", "POST", "/rooms/lobby/whip", pub, "text/plain", offer, 415, "unsupported content type text/plain"},
		{"no content type", "POST", "/rooms/lobby/whip", pub, "", offer, 415, "want application/sdp"},
		{"body too large", "POST", "/rooms/lobby/whip", pub, "application/sdp", bytes.Repeat([]byte("a"), 65<<10), 413, "larger than 65536"},
		{"missing token", "POST", "/rooms/lobby/whip", "", "application/sdp", offer, 401, "missing bearer token"},
		{"expired token", "POST", "/rooms/lobby/whip", expired, "application/sdp", offer, 401, "token expired"},
		{"forged token", "POST", "/rooms/lobby/whip", forged, "application/sdp", offer, 401, "invalid token"},
		{"garbage token", "POST", "/rooms/lobby/whip", "not.a.jwt", "application/sdp", offer, 401, "invalid token"},
		{"wrong room", "POST", "/rooms/other/whip", pub, "application/sdp", offer, 403, "not valid for this room"},
		{"view token publishes", "POST", "/rooms/lobby/whip", view, "application/sdp", offer, 403, "role is view, need publish"},
		{"publish token views", "POST", "/rooms/lobby/whep", pub, "application/sdp", offer, 403, "role is publish, need view"},
		{"malformed SDP", "POST", "/rooms/lobby/whip", pub, "application/sdp", []byte("hello world"), 400, "malformed SDP offer: "},
		{"empty SDP", "POST", "/rooms/lobby/whip", pub, "application/sdp", nil, 400, "malformed SDP offer: empty body"},
		{"AV1 only", "POST", "/rooms/lobby/whip", pub, "application/sdp",
			[]byte(handOffer("video sendonly 45:AV1/90000 46:rtx/90000", "audio sendonly 111:opus/48000/2")), 400,
			"=no supported video codec: offered AV1 only"},
		{"PCMU and G722 only", "POST", "/rooms/lobby/whip", pub, "application/sdp",
			[]byte(handOffer("video sendonly 96:VP8/90000", "audio sendonly 0 9 13:CN/8000")), 400,
			"=no supported audio codec: offered PCMU, G722 only"},
		{"unbundled", "POST", "/rooms/lobby/whip", pub, "application/sdp",
			[]byte(strings.Replace(handOffer("video sendonly 96:VP8/90000"), "a=group:BUNDLE 0\r\n", "", 1)), 400,
			"malformed SDP offer: m-section 0 (mid 0) is not in an a=group:BUNDLE"},
		{"nothing to receive", "POST", "/rooms/lobby/whip", pub, "application/sdp",
			[]byte(handOffer("video recvonly 96:VP8/90000")), 400, "offer has nothing to receive"},
		{"viewer without H264", "POST", "/rooms/live/whep", h.token(t, "live", auth.RoleView), "application/sdp",
			[]byte(handOffer("video recvonly 96:VP8/90000")), 400, "no supported video codec: offered VP8"},
		{"room full", "POST", "/rooms/packed/whip", h.token(t, "packed", auth.RolePublish), "application/sdp", offer, 409, "room is full"},
		{"no such room", "POST", "/rooms/lobby/whep", view, "application/sdp",
			[]byte(handOffer("video recvonly 102:H264/90000", "audio recvonly 111:opus/48000/2")), 404, "no such room"},
		{"unknown session patch", "PATCH", "/rooms/lobby/whip/nope", "", "application/trickle-ice-sdpfrag", []byte("a=end-of-candidates\r\n"), 404, "no such session"},
		{"unknown session delete", "DELETE", "/rooms/lobby/whip/nope", "", "", nil, 404, "no such session"},
		{"GET on whip", "GET", "/rooms/lobby/whip", pub, "", nil, 405, "method GET not allowed"},
		{"PUT on a session", "PUT", "/rooms/lobby/whep/x", pub, "", nil, 405, "method PUT not allowed"},
		{"unknown viewer delete", "DELETE", "/rooms/lobby/whep/nope", "", "", nil, 404, "no such session"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(t, c.method, c.path, c.token, c.ctype, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			msg := jsonError(t, resp, body)
			if exact, ok := strings.CutPrefix(c.msg, "="); ok {
				if msg != exact {
					t.Errorf("error %q, want exactly %q", msg, exact)
				}
			} else if !strings.Contains(msg, c.msg) {
				t.Errorf("error %q, want it to contain %q", msg, c.msg)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header on the error")
			}
		})
	}
	if st := h.srv.Sessions(); len(st) != 0 {
		t.Errorf("failed requests left sessions: %+v", st)
	}
	h.rooms.mu.Lock()
	joined := len(h.rooms.joined)
	h.rooms.mu.Unlock()
	if joined != 0 {
		t.Errorf("failed requests joined %d participants", joined)
	}

	// The server still serves, and session resources check ETag and body.
	resp, body := h.do(t, "POST", "/rooms/lobby/whip", pub, "application/sdp", offer)
	if resp.StatusCode != 201 {
		t.Fatalf("valid publish after errors: %d %s", resp.StatusCode, body)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	frag := []byte("a=ice-ufrag:" + ufragOfOffer(t, offer) + "\r\na=ice-pwd:x\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n")
	patches := []struct {
		name, ctype, ifMatch string
		body                 []byte
		status               int
	}{
		{"etag mismatch", "application/trickle-ice-sdpfrag", `"stale"`, frag, 412},
		{"wrong content type", "application/sdp", etag, frag, 415},
		{"malformed fragment", "application/trickle-ice-sdpfrag", etag, []byte("garbage\r\n"), 400},
		{"candidate", "application/trickle-ice-sdpfrag", etag, frag, 204},
		{"wildcard If-Match", "application/trickle-ice-sdpfrag", "*", []byte("a=end-of-candidates\r\n"), 204},
	}
	for _, p := range patches {
		t.Run("patch "+p.name, func(t *testing.T) {
			resp, body := h.do(t, "PATCH", loc, "", p.ctype, p.body, "If-Match", p.ifMatch)
			if resp.StatusCode != p.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, p.status, body)
			}
			if p.status >= 400 {
				jsonError(t, resp, body)
			}
		})
	}
	resp, body = h.do(t, "PATCH", "/rooms/lobby/whep/"+strings.TrimPrefix(loc, "/rooms/lobby/whip/"), "",
		"application/trickle-ice-sdpfrag", frag)
	if resp.StatusCode != 404 {
		t.Errorf("publisher session under /whep: %d %s", resp.StatusCode, body)
	}
}

func ufragOfOffer(t *testing.T, offer []byte) string {
	for _, l := range strings.Split(string(offer), "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return u
		}
	}
	t.Fatal("offer without ice-ufrag")
	return ""
}

func TestOptionsAdvertisesICEServers(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/rooms/lobby/whip", "/rooms/lobby/whep"} {
		resp, _ := h.do(t, "OPTIONS", p, "", "", nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("OPTIONS %s: %d", p, resp.StatusCode)
		}
		if got := resp.Header.Get("Accept-Post"); got != "application/sdp" {
			t.Errorf("Accept-Post %q", got)
		}
		if got := resp.Header.Get("Link"); got != `<stun:stun.example.net:3478>; rel="ice-server"` {
			t.Errorf("Link %q", got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Authorization") ||
			!strings.Contains(got, "If-Match") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("CORS headers %v", resp.Header)
		}
	}
}
