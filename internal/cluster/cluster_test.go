package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConfigErrors(t *testing.T) {
	rdb := newRedis(t)
	good := fastConfig(rdb, "a")
	good.PublicURL, good.Rooms = "http://127.0.0.1:1", func() []LocalRoom { return nil }
	if _, err := New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no redis":       func(c *Config) { c.Redis = nil },
		"no id":          func(c *Config) { c.NodeID = "" },
		"no url":         func(c *Config) { c.PublicURL = "" },
		"no rooms":       func(c *Config) { c.Rooms = nil },
		"cpu over 1":     func(c *Config) { c.MaxCPU = 1.5 },
		"negative rooms": func(c *Config) { c.MaxRooms = -1 },
		"ttl too short":  func(c *Config) { c.NodeTTL = c.Heartbeat },
	} {
		c := good
		mut(&c)
		if _, err := New(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: err = %v, want ErrBadConfig", name, err)
		}
	}
}

// New rooms spread over the nodes; a request to a node that does not own
// the room is answered 307 to the owner with the same path and query, and a
// net/http client follows it with body and token.
func TestPlacementAndRedirect(t *testing.T) {
	rdb := newRedis(t)
	a, b, c := startNode(t, fastConfig(rdb, "a")), startNode(t, fastConfig(rdb, "b")), startNode(t, fastConfig(rdb, "c"))
	waitNodes(t, a.c, 3)
	served := map[string]string{}
	for _, room := range []string{"r1", "r2", "r3"} {
		resp, body := publish(t, a.srv.URL, room)
		if resp.StatusCode != http.StatusCreated || body != "offer-"+room {
			t.Fatalf("publish %s via a: %d %q", room, resp.StatusCode, body)
		}
		served[room] = resp.Header.Get("X-Node")
		if owner, _ := a.c.Owner(context.Background(), room); owner != served[room] {
			t.Fatalf("room %s served by %s but owned by %q", room, served[room], owner)
		}
		time.Sleep(250 * time.Millisecond) // the next placement sees the new load
	}
	seen := map[string]bool{}
	for _, n := range served {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Fatalf("three new rooms on three idle nodes landed on %v, want one each", served)
	}

	byID := map[string]*testNode{"a": a, "b": b, "c": c}
	owner := byID[served["r2"]]
	var other *testNode
	for id, n := range byID {
		if id != served["r2"] {
			other = n
			break
		}
	}
	resp := noFollow(t, http.MethodPost, other.srv.URL+"/rooms/r2/whip?x=1")
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != owner.srv.URL+"/rooms/r2/whip?x=1" {
		t.Fatalf("POST r2 to %s: %d Location %q, want 307 to %s", other.c.ID(), resp.StatusCode, resp.Header.Get("Location"), owner.srv.URL)
	}
	// With a bearer token the Location carries it, for browsers that drop
	// Authorization on a cross-origin redirect; followed without the header
	// the request is authorized by the owner.
	req, _ := http.NewRequest(http.MethodPost, other.srv.URL+"/rooms/r2/whip?x=1", strings.NewReader("offer-r2"))
	req.Header.Set("Authorization", "Bearer pub")
	req.Header.Set("Origin", "http://page.example")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || loc != owner.srv.URL+"/rooms/r2/whip?x=1&token=pub" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("POST r2 with a token to %s: %d Location %q headers %v", other.c.ID(), resp.StatusCode, loc, resp.Header)
	}
	followed, err := http.Post(loc, "application/sdp", strings.NewReader("offer-r2"))
	if err != nil {
		t.Fatal(err)
	}
	fbody, _ := io.ReadAll(followed.Body)
	followed.Body.Close()
	if followed.StatusCode != http.StatusCreated || followed.Header.Get("X-Node") != owner.c.ID() || string(fbody) != "offer-r2" {
		t.Fatalf("the Location followed without Authorization: %d on %q %q", followed.StatusCode, followed.Header.Get("X-Node"), fbody)
	}
	owner.mu.Lock()
	owner.rooms["r2"]-- // that publisher leaves again
	owner.mu.Unlock()
	// A token already in the query is kept as it is.
	req, _ = http.NewRequest(http.MethodGet, other.srv.URL+"/rooms/r2/hls/index.m3u8?token=view", nil)
	req.Header.Set("Authorization", "Bearer pub")
	if resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req); err != nil ||
		resp.Header.Get("Location") != owner.srv.URL+"/rooms/r2/hls/index.m3u8?token=view" {
		t.Fatalf("redirect of a request with ?token=: %v %v", resp, err)
	}
	resp = noFollow(t, http.MethodGet, other.srv.URL+"/api/rooms/r2")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), owner.srv.URL+"/api/rooms/r2") {
		t.Fatalf("GET /api/rooms/r2 on %s: %d %q", other.c.ID(), resp.StatusCode, resp.Header.Get("Location"))
	}
	resp2, body := publish(t, other.srv.URL, "r2")
	if resp2.StatusCode != http.StatusCreated || resp2.Header.Get("X-Node") != owner.c.ID() || body != "offer-r2" {
		t.Fatalf("second publisher of r2 via %s: %d node %s body %q", other.c.ID(), resp2.StatusCode, resp2.Header.Get("X-Node"), body)
	}
	// A room nobody opened is answered where it was asked.
	if resp := noFollow(t, http.MethodGet, other.srv.URL+"/api/rooms/nobody"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown room: %d, want 404 from the asked node", resp.StatusCode)
	}
	if resp := noFollow(t, http.MethodGet, other.srv.URL+"/pages/x"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("non-room path: %d", resp.StatusCode)
	}
}

// Claims are renewed while the room is open and released when it closes; a
// claim for a room that never opens lapses.
func TestClaimRenewAndRelease(t *testing.T) {
	rdb := newRedis(t)
	a := startNode(t, fastConfig(rdb, "a"))
	waitNodes(t, a.c, 1)
	if resp, _ := publish(t, a.srv.URL, "live"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	time.Sleep(3 * a.c.cfg.ClaimTTL)
	if owner, _ := a.c.Owner(context.Background(), "live"); owner != "a" {
		t.Fatalf("after 3 claim TTLs the open room's owner is %q, want a", owner)
	}
	a.closeRoom("live")
	eventually(t, 5*time.Second, func() bool { o, _ := a.c.Owner(context.Background(), "live"); return o == "" },
		"the closed room's claim to go")

	if got, err := a.c.acquire(context.Background(), "never", "a"); err != nil || got != "a" {
		t.Fatalf("acquire: %q %v", got, err)
	}
	eventually(t, 10*time.Second, func() bool { o, _ := a.c.Owner(context.Background(), "never"); return o == "" },
		"the claim of a room that never opened to lapse")
}

// A node at its room limit refuses new rooms with 503 + Retry-After when no
// other node has room; its open rooms are still served.
func TestAdmissionAtCapacity(t *testing.T) {
	rdb := newRedis(t)
	cfg := fastConfig(rdb, "a")
	cfg.MaxRooms = 1
	a := startNode(t, cfg)
	waitNodes(t, a.c, 1)
	if resp, _ := publish(t, a.srv.URL, "one"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first room: %d", resp.StatusCode)
	}
	resp, body := publish(t, a.srv.URL, "two")
	var js struct{ Error string }
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "7" ||
		json.Unmarshal([]byte(body), &js) != nil || !strings.Contains(js.Error, "capacity") {
		t.Fatalf("second room on a full node: %d Retry-After %q body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := publish(t, a.srv.URL, "one"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("another publisher in the open room: %d", resp.StatusCode)
	}
	// A second node with room takes the new room through a redirect.
	b := startNode(t, fastConfig(rdb, "b"))
	waitNodes(t, a.c, 2)
	if resp, _ := publish(t, a.srv.URL, "two"); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Node") != "b" {
		t.Fatalf("new room with b up: %d on %q", resp.StatusCode, resp.Header.Get("X-Node"))
	}
	_ = b
}

// A dead node's rooms are redirected to it while its record lives, then
// taken over by the node the client reconnects to.
func TestDeadOwnerTakeover(t *testing.T) {
	rdb := newRedis(t)
	b := startNode(t, fastConfig(rdb, "b"))
	ctx := context.Background()
	ghost := fastConfig(rdb, "ghost")
	ghost.PublicURL, ghost.Rooms = "http://127.0.0.1:9", func() []LocalRoom { return nil }
	g, err := New(ghost)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.announce(ctx, g.self()); err != nil {
		t.Fatal(err)
	}
	if got, err := g.acquire(ctx, "orphan", "ghost"); err != nil || got != "ghost" {
		t.Fatalf("ghost claim: %q %v", got, err)
	}
	resp := noFollow(t, http.MethodPost, b.srv.URL+"/rooms/orphan/whip")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), "http://127.0.0.1:9/") {
		t.Fatalf("while the owner is alive: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The ghost stops its heartbeat: its record expires before its claim.
	start := time.Now()
	eventually(t, 10*time.Second, func() bool {
		resp, _, err := tryPublish(b.srv.URL, "orphan")
		return err == nil && resp.StatusCode == http.StatusCreated && resp.Header.Get("X-Node") == "b"
	}, "b to take the dead node's room")
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("takeover took %s; the node TTL is %s", took, ghost.NodeTTL)
	}
	if owner, _ := b.c.Owner(ctx, "orphan"); owner != "b" {
		t.Fatalf("owner after takeover %q", owner)
	}
}

// A draining node sends new rooms elsewhere, keeps its own, and reports
// drained once they have no publisher; a deadline ends a drain regardless.
func TestDrain(t *testing.T) {
	rdb := newRedis(t)
	a, b := startNode(t, fastConfig(rdb, "a")), startNode(t, fastConfig(rdb, "b"))
	waitNodes(t, a.c, 2)
	if got, _ := a.c.acquire(context.Background(), "kept", "a"); got != "a" {
		t.Fatal("claim kept")
	}
	if resp, _ := publish(t, a.srv.URL, "kept"); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Node") != "a" {
		t.Fatalf("kept: %d %s", resp.StatusCode, resp.Header.Get("X-Node"))
	}

	if resp := noFollow(t, http.MethodPost, a.srv.URL+"/api/node/drain"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("drain without admin token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/api/node/drain", strings.NewReader(`{"timeout_s": 60}`))
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("drain: %v %v", resp, err)
	}
	resp.Body.Close()
	eventually(t, 5*time.Second, func() bool { n, err := b.c.Node(context.Background(), "a"); return err == nil && n.Draining },
		"a to announce it is draining")

	if resp, _ := publish(t, a.srv.URL, "fresh"); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Node") != "b" {
		t.Fatalf("new room on a draining node: %d on %q, want b", resp.StatusCode, resp.Header.Get("X-Node"))
	}
	if resp, _ := publish(t, b.srv.URL, "kept"); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Node") != "a" {
		t.Fatalf("the draining node's room: %d on %q, want a", resp.StatusCode, resp.Header.Get("X-Node"))
	}
	select {
	case <-a.c.Drained():
		t.Fatal("drained while its room has publishers")
	case <-time.After(500 * time.Millisecond):
	}
	a.mu.Lock()
	a.rooms["kept"] = 0 // the publishers left; the room is still open (recording)
	a.mu.Unlock()
	select {
	case <-a.c.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("not drained after its last publisher left")
	}

	// Both nodes draining: a new room is refused.
	b.c.Drain(200 * time.Millisecond)
	eventually(t, 5*time.Second, func() bool { n, err := a.c.Node(context.Background(), "b"); return err == nil && n.Draining },
		"b to announce it is draining")
	if resp, _ := publish(t, a.srv.URL, "late"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new room with every node draining: %d", resp.StatusCode)
	}
	select {
	case <-b.c.Drained(): // b still has "fresh" with a publisher: the deadline ended it
	case <-time.After(5 * time.Second):
		t.Fatal("drain deadline did not end the drain")
	}
}

// A node that leaves cleanly releases its claims and its record at once.
func TestLeaveReleases(t *testing.T) {
	rdb := newRedis(t)
	a := startNode(t, fastConfig(rdb, "a"))
	waitNodes(t, a.c, 1)
	if resp, body := publish(t, a.srv.URL, "r"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	if err := a.c.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if owner, _ := a.c.Owner(ctx, "r"); owner != "" {
		t.Fatalf("owner after Leave %q", owner)
	}
	time.Sleep(3 * a.c.cfg.Heartbeat) // Run announces nothing more
	if _, err := a.c.Node(ctx, "a"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("node record after Leave: %v", err)
	}
	a.stop()
	if err := a.c.Leave(ctx); err != nil { // after Run: nothing to do
		t.Fatal(err)
	}
	if owner, _ := a.c.Owner(ctx, "r"); owner != "" {
		t.Fatalf("owner after leave %q", owner)
	}
	if _, err := a.c.Node(ctx, "a"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("node record after leave: %v", err)
	}
}

// With a target frame rate, a node whose room's composite runs slow takes
// no new room; once it keeps up again it does.
func TestAdmissionSlowComposite(t *testing.T) {
	rdb := newRedis(t)
	cfg := fastConfig(rdb, "a")
	cfg.TargetFPS, cfg.MinFPSRatio = 30, 0.9
	a := startNode(t, cfg)
	a.mu.Lock()
	a.extra = []LocalRoom{{Name: "busy", Participants: 2, FPS: 20}}
	a.mu.Unlock()
	waitNodes(t, a.c, 1)
	resp, body := publish(t, a.srv.URL, "new")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "1 with a slow composite") {
		t.Fatalf("new room while a composite runs at 20 of 30 fps: %d %s", resp.StatusCode, body)
	}
	a.mu.Lock()
	a.extra[0].FPS = 29.5
	a.mu.Unlock()
	if resp, body := publish(t, a.srv.URL, "new"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("new room once the composite keeps up: %d %s", resp.StatusCode, body)
	}
}
