package ingest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/webrtc/v4"
)

var turnSecret = []byte("turn-secret-for-tests")

var linkRE = regexp.MustCompile(`^<([^>]+)>; rel="ice-server"(?:; username="([^"]*)"; credential="([^"]*)"; credential-type="password")?$`)

// iceServersOf parses the ice-server Link headers of a response.
func iceServersOf(t *testing.T, resp *http.Response) []webrtc.ICEServer {
	t.Helper()
	var out []webrtc.ICEServer
	for _, l := range resp.Header.Values("Link") {
		m := linkRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("Link %q is not an ice-server link", l)
		}
		srv := webrtc.ICEServer{URLs: []string{m[1]}}
		if m[2] != "" {
			srv.Username, srv.Credential = m[2], m[3]
		}
		out = append(out, srv)
	}
	return out
}

// A publisher restricted to relayed candidates publishes through the
// built-in TURN server with the credentials of the OPTIONS Link header.
func TestTURNRelayPublish(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.TURN = &TURNConfig{Secret: turnSecret, Realm: "test"} })
	if h.srv.TURNPort() == 0 {
		t.Fatal("no TURN port")
	}
	tok := h.token(t, "relayed", auth.RolePublish)
	claims, err := h.issuer.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}

	// Without a token: only the configured STUN server.
	resp, _ := h.do(t, http.MethodOptions, "/rooms/relayed/whip", "", "", nil)
	if s := iceServersOf(t, resp); len(s) != 1 || s[0].URLs[0] != "stun:stun.example.net:3478" {
		t.Errorf("anonymous OPTIONS advertises %+v", s)
	}
	// A token for another room gets no credentials either.
	resp, _ = h.do(t, http.MethodOptions, "/rooms/relayed/whip", h.token(t, "elsewhere", auth.RolePublish), "", nil)
	if s := iceServersOf(t, resp); len(s) != 1 {
		t.Errorf("OPTIONS with another room's token advertises %+v", s)
	}

	resp, _ = h.do(t, http.MethodOptions, "/rooms/relayed/whip", tok, "", nil)
	servers := iceServersOf(t, resp)
	if len(servers) != 2 {
		t.Fatalf("OPTIONS advertises %+v, want TURN and STUN", servers)
	}
	ts := servers[0]
	if want := fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", h.srv.TURNPort()); ts.URLs[0] != want {
		t.Errorf("TURN URL %q, want %q", ts.URLs[0], want)
	}
	// REST-API credentials: expiry of the token, identity, HMAC-SHA1.
	exp, id, ok := strings.Cut(ts.Username, ":")
	if sec, err := strconv.ParseInt(exp, 10, 64); !ok || err != nil || id != "alice" ||
		time.Unix(sec, 0).Sub(claims.ExpiresAt.Time).Abs() > 2*time.Second {
		t.Errorf("TURN username %q, want <token expiry %d>:alice", ts.Username, claims.ExpiresAt.Unix())
	}
	mac := hmac.New(sha1.New, turnSecret)
	mac.Write([]byte(ts.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); ts.Credential != want {
		t.Errorf("TURN credential %q, want %q", ts.Credential, want)
	}

	pub := newTestPublisherWith(t, clientAPI(), webrtc.MimeTypeVP8, webrtc.Configuration{
		ICEServers: []webrtc.ICEServer{ts}, ICETransportPolicy: webrtc.ICETransportPolicyRelay})
	resp = pub.publish(t, h, "relayed", tok)
	if s := iceServersOf(t, resp); len(s) != 2 || s[0].Username == "" {
		t.Errorf("POST advertises %+v, want TURN with credentials and STUN", s)
	}
	pub.send(t)
	sink := firstSink(t, h, media.Video)
	growing(t, sink, "video through the relay")
	pair, err := pub.videoSender.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Errorf("publisher's local candidate is %s, want relay", pair.Local.Typ)
	}

	// Wrong credentials are refused: nothing connects.
	bad := ts
	bad.Credential = base64.StdEncoding.EncodeToString([]byte("wrong"))
	pub2 := newTestPublisherWith(t, clientAPI(), webrtc.MimeTypeVP8, webrtc.Configuration{
		ICEServers: []webrtc.ICEServer{bad}, ICETransportPolicy: webrtc.ICETransportPolicyRelay})
	off, err := pub2.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pub2.pc)
	if err := pub2.pc.SetLocalDescription(off); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g:
	case <-time.After(30 * time.Second):
		t.Fatal("gathering with bad credentials did not end")
	}
	if strings.Contains(pub2.pc.LocalDescription().SDP, "typ relay") {
		t.Error("a relay was allocated with a wrong credential")
	}
}
