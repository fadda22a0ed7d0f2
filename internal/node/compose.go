package node

import (
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/compose"
	"github.com/mosaic-rtc/mosaic/jobs"
)

// ComposeWorker gives a worker configuration the composition renderer,
// its store and the post-processing media work.
func ComposeWorker(cfg *jobs.WorkerConfig, rdb *redis.Client, log *slog.Logger) {
	cfg.Renderer = compose.Renderer{Log: log}
	cfg.Compositions = jobs.NewCompositionStore(rdb, "mosaic")
	cfg.Post = compose.Post{Log: log}
}

// composeRoutes serves the compositions of recordings.
func (n *Node) composeRoutes(mux *http.ServeMux) {
	cfg := compose.APIConfig{Issuer: n.Issuer, Catalog: n.catalog, Compositions: jobs.NewCompositionStore(n.rdb, "mosaic"),
		Enqueuer: n.enqueuer, Log: n.log.With("part", "compose")}
	if n.store != nil {
		cfg.Store = n.store
	}
	compose.NewAPI(cfg).Routes(mux)
}
