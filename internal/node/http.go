package node

import (
	"context"
	"encoding/json"
	"github.com/hibiken/asynq"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mosaic-rtc/mosaic/assets"
	"github.com/mosaic-rtc/mosaic/internal/api"
)

func (n *Node) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", n.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics(), promhttp.HandlerOpts{}))
	mux.Handle("/", assets.Handler())
}

// readyz checks what serving needs: Redis, the object store and the
// GStreamer elements.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := n.rdb.Ping(ctx).Err(); err != nil {
		checks["redis"], ok = err.Error(), false
	} else {
		checks["redis"] = "ok"
	}
	if err := n.store.Healthy(ctx); err != nil {
		checks["s3"], ok = err.Error(), false
	} else {
		checks["s3"] = "ok"
	}
	if missing := missingElements(); len(missing) > 0 {
		b, _ := json.Marshal(missing)
		checks["gstreamer"], ok = "missing elements: "+string(b), false
	} else {
		checks["gstreamer"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	api.WriteJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

func (n *Node) metrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(jobMetrics()...)
	if opt, err := asynq.ParseRedisURI(n.redisURL); err == nil {
		reg.MustRegister(newOpsCollector(n, opt, []string{n.uploadQueue, "default"}))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mosaic_rooms", Help: "Rooms open on this node."},
		func() float64 { return float64(len(n.rooms.List())) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mosaic_participants", Help: "Publishers in this node's rooms."},
		func() float64 {
			t := 0
			for _, r := range n.rooms.List() {
				t += len(r.Participants)
			}
			return float64(t)
		}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mosaic_viewers", Help: "Viewers (WHEP sessions and HLS clients) of this node's rooms."},
		func() float64 {
			t := 0
			for _, r := range n.rooms.List() {
				t += r.Viewers
			}
			return float64(t)
		}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mosaic_recordings_active", Help: "Recordings running on this node."},
		func() float64 { return float64(len(n.recordings.Active())) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mosaic_outbox_pending", Help: "Tasks waiting in the local outbox for Redis."},
		func() float64 {
			if ob := n.enqueuer.Outbox(); ob != nil {
				p, _ := ob.Pending()
				return float64(len(p))
			}
			return 0
		}))
	reg.MustRegister(n.ingest.Collector())
	return reg
}

// withRecover turns a handler panic into a 500 JSON error instead of a
// dropped connection, and logs it with the stack.
func withRecover(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				api.WriteError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}
