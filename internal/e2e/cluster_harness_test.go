package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// cluster is several `mosaic serve` processes sharing one Redis and one S3.
type cluster struct {
	t     *testing.T
	redis *testenv.RedisServer
	s3    *testenv.S3
	nodes map[string]*server // by node id
}

func startCluster(t *testing.T, ids []string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, redis: testenv.StartRedis(t), s3: testenv.StartS3(t), nodes: map[string]*server{}}
	bin := testenv.MosaicBin(t)
	for _, id := range ids {
		port := testenv.FreePort(t)
		s := &server{t: t, bin: bin, dataDir: t.TempDir(), redis: c.redis, s3: c.s3,
			base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		s.args = append([]string{"serve",
			"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--public-url", s.base,
			"--media-port", fmt.Sprint(testenv.FreeUDPPort(t)),
			"--node-id", id, "--data-dir", s.dataDir,
			"--redis-url", c.redis.URL,
			"--s3-endpoint", c.s3.Endpoint, "--s3-access-key", c.s3.AccessKey, "--s3-secret-key", c.s3.SecretKey,
			"--secret", testSecret, "--log-level", "debug",
			// Small composites keep three nodes' mixers within two cores.
			"--width", "640", "--height", "360", "--fps", "15", "--video-bitrate", "600",
		}, extra...)
		c.nodes[id] = s
	}
	for _, id := range ids {
		c.nodes[id].start()
	}
	admin := c.nodes[ids[0]].token("*", "admin")
	for _, s := range c.nodes {
		s.admin = admin
	}
	c.waitNodes(len(ids))
	return c
}

// any is a running node.
func (c *cluster) any() *server {
	for _, s := range c.nodes {
		select {
		case <-s.proc.Done():
		default:
			return s
		}
	}
	c.t.Fatal("no node is running")
	return nil
}

type nodeView struct {
	ID       string  `json:"id"`
	URL      string  `json:"url"`
	Rooms    int     `json:"rooms"`
	CPU      float64 `json:"cpu"`
	Draining bool    `json:"draining"`
}

// live lists the live nodes as s sees them.
func (c *cluster) live(s *server) []nodeView {
	c.t.Helper()
	var out struct {
		Nodes []nodeView `json:"nodes"`
	}
	if code := s.call("GET", "/api/nodes", s.admin, nil, &out); code != http.StatusOK {
		c.t.Fatalf("GET /api/nodes on %s: %d", s.base, code)
	}
	return out.Nodes
}

func (c *cluster) waitNodes(n int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if len(c.live(c.any())) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("fewer than %d live nodes after 20 s: %+v", n, c.live(c.any()))
}

// servedBy asks s about room (following redirects) and returns the id of
// the node that answered 200, or "" when none did.
func (c *cluster) servedBy(s *server, room string) (string, int) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", s.base+"/api/rooms/"+room, nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0
	}
	defer res.Body.Close()
	var info struct {
		Participants []any `json:"participants"`
	}
	_ = jsonDecode(res, &info)
	if res.StatusCode != http.StatusOK {
		return "", 0
	}
	return c.idOf(res.Request.URL), len(info.Participants)
}

func (c *cluster) idOf(u *url.URL) string {
	for id, s := range c.nodes {
		if strings.TrimPrefix(s.base, "http://") == u.Host {
			return id
		}
	}
	return "?" + u.Host
}

// waitServed waits until room has a publisher on some node reached from s.
func (c *cluster) waitServed(s *server, room string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if id, n := c.servedBy(s, room); n > 0 {
			return id
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("room %s has no publisher on any node after %s", room, timeout)
	return ""
}

// noFollow does one request without following a redirect.
func noFollow(t *testing.T, method, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("v=0\r\n"))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/sdp")
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// waitAnnounced waits until s sees every node live and node announcing at
// least rooms rooms.
func (c *cluster) waitAnnounced(s *server, node string, rooms int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var nodes []nodeView
	for time.Now().Before(deadline) {
		nodes = c.live(s)
		for _, n := range nodes {
			if n.ID == node && n.Rooms >= rooms && len(nodes) == len(c.nodes) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("node %s does not announce %d rooms (or a node is missing) after 20 s: %+v", node, rooms, nodes)
}
