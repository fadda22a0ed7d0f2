package node

import (
	"context"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/api"
)

// newMux registers every HTTP route of the node: WHIP/WHEP, the JSON API,
// health, metrics, the queue UI and the pages. api/openapi.json documents
// them all; routes_test.go holds the two to each other.
func (n *Node) newMux(ctx context.Context) *http.ServeMux {
	mux := http.NewServeMux()
	n.ingest.Routes(mux)
	api.New(api.Config{Issuer: n.Issuer, Rooms: n.rooms, Recordings: n.recordings, Catalog: n.catalog,
		Store: n.store, Deleter: n.store, Log: n.log.With("part", "api")}).Routes(mux)
	n.routes(mux)
	n.composeRoutes(mux)
	n.queueRoutes(ctx, mux)
	n.liveRoutes(ctx, mux)
	return mux
}
