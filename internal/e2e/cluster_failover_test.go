package e2e

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestClusterRoutesFailsOverAndDrains runs three nodes on one Redis and one
// S3. Publishers all dial one node and are redirected to the rooms' owners,
// so the rooms spread over the nodes; a node killed with SIGKILL loses its
// room to another node once the publisher reconnects; a drained node keeps
// its room until its publisher leaves, then exits with its recording
// finalized, and its queued uploads complete when it comes back.
func TestClusterRoutesFailsOverAndDrains(t *testing.T) {
	c := startCluster(t, []string{"na", "nb", "nc"}, "--segment-duration", "2s",
		// Three nodes share two cores here: CPU admission is tested on its own.
		"--max-cpu", "1")
	entry := c.nodes["na"]
	clip := filepath.Join(testenv.Inputs(t), "p1.webm")
	rooms := []string{"room-1", "room-2", "room-3"}
	pubs := map[string]*testenv.Proc{}
	owner := map[string]string{}
	for _, room := range rooms {
		pubs[room] = testenv.Run(t, nil, entry.bin, "publish", "--url", entry.base+"/rooms/"+room+"/whip",
			"--token", entry.token(room, "publish"), "--file", clip, "--loop")
		owner[room] = c.waitServed(entry, room, 45*time.Second)
		t.Logf("%s: published via na, served by %s", room, owner[room])
		c.waitAnnounced(entry, owner[room], 1) // the next room is placed knowing of this one
	}
	if owner["room-1"] == owner["room-2"] || owner["room-2"] == owner["room-3"] || owner["room-1"] == owner["room-3"] {
		t.Fatalf("three rooms on three idle nodes: %v, want one each", owner)
	}

	// Any other node answers 307 to the owner, same path and query, plus
	// the bearer token.
	for _, room := range rooms {
		for id, s := range c.nodes {
			if id == owner[room] {
				continue
			}
			tok := entry.token(room, "publish")
			res := noFollow(t, "POST", s.base+"/rooms/"+room+"/whip?trace=1", tok)
			want := c.nodes[owner[room]].base + "/rooms/" + room + "/whip?trace=1&token=" + url.QueryEscape(tok)
			if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != want {
				t.Fatalf("POST %s to %s: %d Location %q, want 307 to %s", room, id, res.StatusCode, res.Header.Get("Location"), want)
			}
		}
	}

	checkRedirectCarriesToken(t, c, "room-1", owner["room-1"])

	// The room of the node to be drained records (started through another node).
	drained := c.nodes[owner["room-3"]]
	var rec recordingView
	if code := c.nodes[owner["room-1"]].call("POST", "/api/rooms/room-3/recordings", entry.admin, nil, &rec); code != http.StatusCreated {
		t.Fatalf("start recording via %s: %d %+v", owner["room-1"], code, rec)
	}

	// SIGKILL the owner of room-2; its publisher reconnects through na.
	victim := c.nodes[owner["room-2"]]
	victim.proc.Kill()
	pubs["room-2"].Kill()
	killed := time.Now()
	var reconnect time.Time
	var landed string
	for landed == "" && time.Since(killed) < 40*time.Second {
		reconnect = time.Now()
		p := testenv.Run(t, nil, entry.bin, "publish", "--url", entry.base+"/rooms/room-2/whip",
			"--token", entry.token("room-2", "publish"), "--file", clip, "--loop")
		for landed == "" && time.Since(reconnect) < 12*time.Second {
			select {
			case <-p.Done(): // sent to the dead node while its record lived: try again
				t.Logf("reconnect %.1f s after the kill failed: %s", time.Since(killed).Seconds(), lastLine(p))
				time.Sleep(500 * time.Millisecond)
			default:
			}
			if p.Err() != nil || isDone(p) {
				break
			}
			if id, n := c.servedBy(entry, "room-2"); n > 0 {
				landed = id
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if landed == "" || landed == owner["room-2"] {
		t.Fatalf("room-2 did not come back on a live node within 40 s of the kill (landed %q)", landed)
	}
	back := time.Since(reconnect)
	t.Logf("room-2 back on %s %.1f s after the reconnect, %.1f s after the kill", landed, back.Seconds(), time.Since(killed).Seconds())
	if back > 10*time.Second {
		t.Errorf("room-2 took %s after the client reconnected, want ≤ 10 s", back)
	}
	for _, room := range []string{"room-1", "room-3"} {
		if id, n := c.servedBy(entry, room); id != owner[room] || n == 0 {
			t.Errorf("%s moved to %q (%d publishers) when %s died", room, id, n, owner["room-2"])
		}
	}

	// Drain the owner of room-3.
	out, err := runCmd(entry.bin, "drain", "--server", drained.base, "--token", entry.admin, "--timeout", "90s")
	if err != nil || !strings.Contains(out, `"draining": true`) {
		t.Fatalf("mosaic drain: %v\n%s", err, out)
	}
	res := noFollow(t, "POST", drained.base+"/rooms/room-new/whip", entry.token("room-new", "publish"))
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusTemporaryRedirect || strings.HasPrefix(loc, drained.base) {
		t.Fatalf("new room on the draining node: %d Location %q, want a redirect to another node", res.StatusCode, loc)
	}
	time.Sleep(3 * time.Second)
	if isDone(drained.proc) {
		t.Fatalf("drained node exited while its room still had a publisher:\n%s", drained.proc.Tail(20))
	}
	if id, n := c.servedBy(entry, "room-3"); id != owner["room-3"] || n == 0 {
		t.Fatalf("room-3 during the drain: on %q with %d publishers", id, n)
	}
	// The last publisher leaves (Ctrl-C: its session is deleted).
	if err := pubs["room-3"].Signal(syscall.SIGINT, 15*time.Second); err != nil {
		t.Fatalf("publisher of room-3: %v", err)
	}
	left := time.Now()
	select {
	case <-drained.proc.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("drained node still running 60 s after its last publisher left:\n%s", drained.proc.Tail(20))
	}
	t.Logf("drained node exited %.1f s after its last publisher left", time.Since(left).Seconds())
	if err := drained.proc.Err(); err != nil || !strings.Contains(drained.proc.Output(), "drained") {
		t.Fatalf("drained node: exit %v\n%s", err, drained.proc.Tail(20))
	}

	// Finalized: every segment is stored or waits in the node's upload queue.
	var after recordingView
	entry.call("GET", "/api/recordings/"+rec.ID, entry.admin, nil, &after)
	queued := uploadsQueued(t, c.redis.URL, owner["room-3"])
	t.Logf("after the drain: state %s, %d segments, %d uploaded, %d queued", after.State, after.Segments, after.Uploaded, queued)
	if after.State != "ready" && after.State != "uploading" {
		t.Fatalf("recording after the drain is %q, want ready or uploading", after.State)
	}
	if after.Segments < 2 || after.Uploaded+queued < after.Segments {
		t.Fatalf("%d segments, %d uploaded + %d queued: some segment is neither stored nor queued", after.Segments, after.Uploaded, queued)
	}
	if after.Uploaded < after.Segments {
		drained.start() // its uploads wait for it: it comes back and finishes them
	}
	ready := entry.waitState(rec.ID, "ready", 90*time.Second)
	if ready.Uploaded != ready.Segments || ready.Segments < after.Segments {
		t.Fatalf("ready with %d of %d segments uploaded (%d before the restart)", ready.Uploaded, ready.Segments, after.Segments)
	}
	info := compositeOf(t, ready)
	if info.Duration < 4 {
		t.Errorf("composite of the drained room lasts %.2f s", info.Duration)
	}
}

// uploadsQueued counts the tasks of a node's upload queue not yet done.
func uploadsQueued(t *testing.T, redisURL, node string) int {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	q := "asynq:{uploads:" + node + "}:"
	n := rdb.LLen(ctx, q+"pending").Val() + rdb.LLen(ctx, q+"active").Val() +
		rdb.ZCard(ctx, q+"retry").Val() + rdb.ZCard(ctx, q+"scheduled").Val()
	return int(n)
}

func isDone(p *testenv.Proc) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

func lastLine(p *testenv.Proc) string { return p.Tail(1) }
