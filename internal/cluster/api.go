package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// NodeAPI lists the node endpoints ServeNodeAPI answers (admin token):
//
//	POST /api/node/drain  body {"timeout_s": N} (optional) → 202 the node's record and deadline
//	GET  /api/node        → this node's record
//	GET  /api/nodes       → every live node, best candidate for a new room first
var NodeAPI = []string{"POST /api/node/drain", "GET /api/node", "GET /api/nodes"}

// ServeNodeAPI answers the requests of NodeAPI.
func (c *Cluster) ServeNodeAPI(w http.ResponseWriter, r *http.Request) {
	if c.nodeAPI(w, r) {
		return
	}
	writeError(w, http.StatusNotFound, "no such node endpoint: "+r.URL.Path)
}

func (c *Cluster) nodeAPI(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/api/node/drain", "/api/node", "/api/nodes":
	default:
		return false
	}
	if err := c.cfg.Authorize(r); err != nil {
		// A valid token without the admin role is forbidden; no token, or
		// a bad one, is unauthorized.
		if errors.Is(err, auth.ErrWrongRole) || errors.Is(err, auth.ErrWrongRoom) {
			writeError(w, http.StatusForbidden, err.Error())
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
		writeError(w, http.StatusUnauthorized, err.Error())
		return true
	}
	switch {
	case r.URL.Path == "/api/node/drain" && r.Method == http.MethodPost:
		var body struct {
			TimeoutS float64 `json:"timeout_s"`
		}
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil || body.TimeoutS < 0 {
				writeError(w, http.StatusBadRequest, "body: want {\"timeout_s\": seconds}")
				return true
			}
		}
		deadline := c.Drain(time.Duration(body.TimeoutS * float64(time.Second)))
		info := c.self()
		info.Draining = true
		writeJSON(w, http.StatusAccepted, map[string]any{"node": info, "deadline": deadline.UTC()})
	case r.URL.Path == "/api/node" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, c.self())
	case r.URL.Path == "/api/nodes" && r.Method == http.MethodGet:
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		nodes, err := c.Nodes(ctx)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return true
		}
		if nodes == nil {
			nodes = []NodeInfo{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	return true
}
