package node

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/api"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/cluster"
)

// startCluster announces the node in Redis and starts renewing its room
// claims; the returned handler routes room requests to their owners. The
// node API (clusterRoutes) is on mux already and answers once this returns.
func (n *Node) startCluster(ctx context.Context, mux *http.ServeMux) (http.Handler, error) {
	fps := &fpsMeter{}
	c, err := cluster.New(cluster.Config{
		Redis: n.rdb, NodeID: n.cfg.NodeID, PublicURL: n.cfg.PublicURL,
		Rooms: func() []cluster.LocalRoom { return n.localRooms(fps) }, Authorize: n.authorizeAdmin,
		MaxRooms: n.cfg.Cluster.MaxRooms, MaxCPU: n.cfg.Cluster.MaxCPU,
		TargetFPS: n.cfg.FPS, MinFPSRatio: n.cfg.Cluster.MinFPSRatio,
		DrainTimeout: n.cfg.Cluster.DrainTimeout, Heartbeat: n.cfg.Cluster.Heartbeat,
		Log: n.log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.cluster = c
	n.clusterRoutes(mux)
	n.goBackground(ctx, c.Run)
	return c.Middleware(mux), nil
}

// clusterRoutes registers the node API (admin token; see cluster.NodeAPI):
// drain this node, this node's record, every live node.
func (n *Node) clusterRoutes(mux *http.ServeMux) {
	for _, pat := range []string{"POST /api/node/drain", "GET /api/node", "GET /api/nodes"} {
		mux.HandleFunc(pat, n.serveNodeAPI)
	}
}

func (n *Node) serveNodeAPI(w http.ResponseWriter, r *http.Request) {
	if n.cluster == nil {
		api.WriteError(w, http.StatusServiceUnavailable, "this node is not part of a cluster")
		return
	}
	n.cluster.ServeNodeAPI(w, r)
}

func (n *Node) localRooms(fps *fpsMeter) []cluster.LocalRoom {
	infos := n.rooms.List()
	out := make([]cluster.LocalRoom, len(infos))
	open := make(map[string]bool, len(infos))
	now := time.Now()
	for i, r := range infos {
		out[i] = cluster.LocalRoom{Name: r.Name, Participants: len(r.Participants), Viewers: r.Viewers}
		if rm, ok := n.rooms.Get(r.Name); ok {
			out[i].FPS = fps.rate(r.Name, rm.Mixer(), now)
		}
		open[r.Name] = true
	}
	fps.keep(open)
	return out
}

func (n *Node) authorizeAdmin(r *http.Request) error {
	_, err := n.Issuer.Authorize(auth.BearerToken(r.Header.Get("Authorization")), auth.AnyRoom, auth.RoleAdmin)
	return err
}

// Drained is closed when a drain (POST /api/node/drain) has finished: the
// node's rooms have ended or the drain deadline passed. The owner of the
// node then closes it, which finalizes its recordings.
func (n *Node) Drained() <-chan struct{} {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.Drained()
}
