package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// checkRedirectCarriesToken: a request with a bearer token to a node that
// does not own the room is redirected to a Location that carries the token,
// with CORS headers, and following it without Authorization (as browsers do
// across origins) succeeds; the served watch page opened on that node plays
// the room in headless Chromium, its WHEP POST redirected to the owner.
func checkRedirectCarriesToken(t *testing.T, c *cluster, room, owner string) {
	t.Helper()
	var wrong *server
	for id, s := range c.nodes {
		if id != owner {
			wrong = s
			break
		}
	}
	admin := wrong.admin
	req, _ := http.NewRequest("GET", wrong.base+"/api/rooms/"+room+"?x=1", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Origin", "http://page.example")
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	want := c.nodes[owner].base + "/api/rooms/" + room + "?x=1&token=" + url.QueryEscape(admin)
	if res.StatusCode != http.StatusTemporaryRedirect || loc != want ||
		res.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("GET %s with a token on the wrong node: %d Location %q headers %v, want 307 to %s with CORS", room, res.StatusCode, loc, res.Header, want)
	}
	res, err = http.Get(loc) // no Authorization
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Participants []json.RawMessage `json:"participants"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil || len(info.Participants) == 0 {
		t.Fatalf("the Location followed without Authorization: %d %v %d participants", res.StatusCode, err, len(info.Participants))
	}

	// A browser on a page served by the wrong node: its WHEP POST, live
	// status and HLS requests are redirected to the owner, without
	// Authorization (Chromium drops it across origins).
	began := time.Now()
	b := newBrowser(t, 90*time.Second)
	page := wrong.base + "/watch.html?room=" + room + "&token=" + url.QueryEscape(wrong.token(room, "view"))
	tb := b.open("cluster-watch", page)
	tb.waitJS("watching over WHEP", "window.mosaicPlayer && window.mosaicPlayer.mode === 'whep'", 20*time.Second)
	tb.videoAdvances("#live", 20*time.Second)
	tb.waitJS("showing the viewer count", "window.mosaicPlayer.viewers >= 1", 10*time.Second)
	if msg := eval[string](tb, "window.mosaicPlayer.error || ''"); msg != "" {
		t.Fatalf("watch page (WHEP) through the wrong node: %s", msg)
	}
	whep := time.Since(began)
	tb.open(page + "&mode=hls")
	tb.waitJS("watching over HLS", "window.mosaicPlayer && window.mosaicPlayer.mode === 'hls'", 20*time.Second)
	tb.videoAdvances("#live", 30*time.Second)
	if msg := eval[string](tb, "window.mosaicPlayer.error || ''"); msg != "" {
		t.Fatalf("watch page (HLS) through the wrong node: %s", msg)
	}
	t.Logf("watch page on the wrong node plays %s from its owner %s: WHEP after %.1f s, HLS after %.1f s",
		room, owner, whep.Seconds(), time.Since(began).Seconds())
}
