package jobs

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the job handlers in this process; the node registers them on
// its /metrics.
var (
	UploadSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "mosaic_upload_seconds",
		Help:    "Time to put and verify one recording file in the object store.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	})
	UploadBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mosaic_upload_bytes_total",
		Help: "Bytes of recording files put into the object store.",
	})
)
