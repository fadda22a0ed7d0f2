package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// testNode is a Cluster in front of a small room server: POST …/whip opens
// the room with one publisher, DELETE …/whip/{session} empties it, and other
// room requests answer 200 for open rooms and 404 otherwise.
type testNode struct {
	c    *Cluster
	srv  *httptest.Server
	stop context.CancelFunc
	done chan struct{}

	mu    sync.Mutex
	rooms map[string]int // room → publishers
	extra []LocalRoom    // more rooms as the node reports them
}

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func fastConfig(rdb *redis.Client, id string) Config {
	return Config{Redis: rdb, NodeID: id, Heartbeat: 100 * time.Millisecond, NodeTTL: 600 * time.Millisecond,
		ClaimTTL: time.Second, RetryAfter: 7 * time.Second,
		MaxCPU: 1, // the test's nodes share one process: its CPU says nothing of any one of them
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer admin" {
				return errors.New("admin token required")
			}
			return nil
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func startNode(t *testing.T, cfg Config) *testNode {
	t.Helper()
	n := &testNode{rooms: map[string]int{}, done: make(chan struct{})}
	var h http.Handler
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(n.srv.Close)
	cfg.PublicURL = n.srv.URL
	cfg.Rooms = n.local
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.c = c
	mux := http.NewServeMux()
	for _, pat := range NodeAPI {
		mux.HandleFunc(pat, c.ServeNodeAPI)
	}
	mux.HandleFunc("/", n.serve)
	h = c.Middleware(mux)
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = func() { cancel(); <-n.done }
	go func() {
		defer close(n.done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(n.stop)
	return n
}

func (n *testNode) local() []LocalRoom {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append([]LocalRoom(nil), n.extra...)
	for name, p := range n.rooms {
		out = append(out, LocalRoom{Name: name, Participants: p})
	}
	return out
}

func (n *testNode) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Node", n.c.ID())
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "rooms" {
		http.NotFound(w, r)
		return
	}
	room := parts[1]
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && parts[2] == "whip":
		if r.Header.Get("Authorization") != "Bearer pub" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		n.rooms[room]++
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	case r.Method == http.MethodDelete && parts[2] == "whip":
		n.rooms[room]--
		w.WriteHeader(http.StatusOK)
	default:
		if _, ok := n.rooms[room]; !ok {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (n *testNode) closeRoom(room string) {
	n.mu.Lock()
	delete(n.rooms, room)
	n.mu.Unlock()
}

// waitNodes waits until every node sees want live nodes.
func waitNodes(t *testing.T, c *Cluster, want int) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool {
		nodes, err := c.Nodes(context.Background())
		return err == nil && len(nodes) == want
	}, "%d live nodes", want)
}

func eventually(t *testing.T, d time.Duration, ok func() bool, format string, args ...any) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for "+format, append([]any{d}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publish POSTs an offer with a client that follows redirects.
func publish(t *testing.T, base, room string) (*http.Response, string) {
	t.Helper()
	resp, body, err := tryPublish(base, room)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func tryPublish(base, room string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/rooms/"+room+"/whip?x=1", strings.NewReader("offer-"+room))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer pub")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), nil
}

// noFollow does one request without following redirects.
func noFollow(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
