package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// roomOf returns the room a request is about, and whether the request may
// open a new room: WHIP and WHEP (with their sessions), HLS and live status
// under /rooms/{room}/, and the API under /api/rooms/{room}.
func roomOf(r *http.Request) (room string, opens bool) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/rooms/"):
		rest := strings.TrimPrefix(p, "/rooms/")
		name, tail, ok := strings.Cut(rest, "/")
		if !ok || name == "" {
			return "", false
		}
		kind, _, _ := strings.Cut(tail, "/")
		switch kind {
		case "whip", "whep", "hls", "live":
		default:
			return "", false
		}
		return name, r.Method == http.MethodPost && tail == "whip"
	case strings.HasPrefix(p, "/api/rooms/"):
		name, tail, _ := strings.Cut(strings.TrimPrefix(p, "/api/rooms/"), "/")
		if name == "" {
			return "", false
		}
		return name, r.Method == http.MethodPost && tail == "recordings"
	}
	return "", false
}

// Middleware routes room requests to the room's owner and places new rooms.
// Everything else goes to next.
//
// A redirect carries the request's bearer token as ?token= in its Location
// and CORS headers: browsers drop Authorization when they follow a redirect
// to another origin, and must be allowed to read the redirect at all. The
// owner takes ?token= of a room request as its bearer token when the
// request has no Authorization header.
func (c *Cluster) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		room, opens := roomOf(r)
		if room == "" || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		target, err := c.route(ctx, room, opens)
		cancel()
		switch {
		case errors.Is(err, ErrNoCapacity):
			c.log.Warn("new room refused", "room", room, "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(int(c.cfg.RetryAfter.Seconds())))
			writeError(w, http.StatusServiceUnavailable, err.Error())
		case err != nil:
			// Without Redis this node still serves what it can by itself.
			c.log.Warn("room routing unavailable, serving locally", "room", room, "err", err)
			next.ServeHTTP(w, withQueryToken(r))
		case target.ID == c.cfg.NodeID || sameURL(target.URL, c.cfg.PublicURL):
			next.ServeHTTP(w, withQueryToken(r))
		default:
			loc := strings.TrimRight(target.URL, "/") + redirectURI(r)
			c.log.Debug("redirect to room owner", "room", room, "owner", target.ID)
			h := w.Header()
			h.Set("Location", loc)
			h.Set("Cache-Control", "no-store") // the Location may hold a token
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "Location")
			writeError(w, http.StatusTemporaryRedirect, "room "+room+" is served by node "+target.ID)
		}
	})
}

// tokenParam is the query parameter that carries a bearer token across a
// redirect.
const tokenParam = "token"

// redirectURI is r's path and query, with the bearer token of its
// Authorization header added as ?token= (unless the query has one).
func redirectURI(r *http.Request) string {
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" || r.URL.Query().Has(tokenParam) {
		return r.URL.RequestURI()
	}
	u := *r.URL
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += tokenParam + "=" + url.QueryEscape(tok)
	return u.RequestURI()
}

// withQueryToken returns r with ?token= as its Authorization header when it
// has a token in the query and no Authorization header.
func withQueryToken(r *http.Request) *http.Request {
	if r.Header.Get("Authorization") != "" {
		return r
	}
	tok := r.URL.Query().Get(tokenParam)
	if tok == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return r2
}

// route decides which node serves a request for room.
func (c *Cluster) route(ctx context.Context, room string, opens bool) (NodeInfo, error) {
	me := NodeInfo{ID: c.cfg.NodeID, URL: c.cfg.PublicURL}
	owner, err := c.Owner(ctx, room)
	if err != nil {
		return NodeInfo{}, err
	}
	if owner == c.cfg.NodeID {
		c.noteClaim(room)
		return me, nil
	}
	if owner != "" {
		info, err := c.Node(ctx, owner)
		if err == nil {
			return info, nil
		}
		if !errors.Is(err, ErrUnknownNode) {
			return NodeInfo{}, err
		}
		// The owner is dead: its room may be taken over.
	}
	if c.hasLocal(room) {
		return c.claimFor(ctx, room, me)
	}
	if !opens {
		return me, nil // nothing to open: this node answers (404 and the like)
	}
	target, err := c.place(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	return c.claimFor(ctx, room, target)
}

// claimFor claims room for target and returns whichever node won the claim.
func (c *Cluster) claimFor(ctx context.Context, room string, target NodeInfo) (NodeInfo, error) {
	got, err := c.acquire(ctx, room, target.ID)
	if err != nil {
		return NodeInfo{}, err
	}
	switch got {
	case target.ID:
		if got == c.cfg.NodeID {
			c.wake() // announce the new room at once
		}
		return target, nil
	case c.cfg.NodeID:
		return NodeInfo{ID: got, URL: c.cfg.PublicURL}, nil
	}
	return c.Node(ctx, got)
}

// place picks the least-loaded live node that takes new rooms, this node
// judged by its load right now.
func (c *Cluster) place(ctx context.Context) (NodeInfo, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	self := c.self()
	best, found := NodeInfo{}, false
	consider := func(n NodeInfo) {
		if n.Accepts() && (!found || less(n, best)) {
			best, found = n, true
		}
	}
	consider(self)
	for _, n := range nodes {
		if n.ID != self.ID {
			consider(n)
		}
	}
	if !found {
		return NodeInfo{}, fmt.Errorf("%w (%d nodes live, this one: %d rooms, %d with a slow composite, cpu %.2f, draining %v)",
			ErrNoCapacity, len(nodes), self.Rooms, self.Lagging, self.CPU, self.Draining)
	}
	return best, nil
}

func (c *Cluster) hasLocal(room string) bool {
	for _, r := range c.cfg.Rooms() {
		if r.Name == room {
			return true
		}
	}
	return false
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
