// Package node wires one `mosaic serve` process: embedded or external Redis
// and S3, the job worker, rooms and their mixers, recordings, WebRTC ingest
// and the HTTP server. It owns the start-up and the shutdown order.
package node

import (
	"log/slog"
	"time"
)

// Config of a node. Zero values take the documented defaults.
type Config struct {
	Listen    string // HTTP address (default 127.0.0.1:8080)
	PublicURL string // how clients reach the HTTP server (default http://<listen>)
	MediaPort int    // the one UDP (and TCP) port for WebRTC (default 8443)
	PublicIPs []string
	ICE       ICEConfig // built-in TURN and external STUN/TURN servers
	DataDir   string    // default ./data
	NodeID    string    // default: hostname-derived, kept in the data dir

	RedisURL string // empty: start a redis-server child under DataDir/redis

	S3Endpoint  string // empty: embedded versitygw under DataDir/s3
	S3AccessKey string
	S3SecretKey string
	S3Bucket    string
	S3Region    string
	S3Secure    bool

	Secret string // token key; empty: DataDir/secret (created once)

	Width, Height, FPS int
	VideoBitrateKbps   int
	// KeyframeInterval of the composite (default 1s): viewers start and
	// recordings split on keyframes, and a crash loses what follows the last.
	KeyframeInterval time.Duration

	SegmentDuration       time.Duration
	RecordingEmptyTimeout time.Duration
	RecordingMaxDuration  time.Duration
	RoomIdleTimeout       time.Duration
	// Retention deletes finished recordings this long after they stopped
	// (0: keep them); the sweep is queued every RetentionInterval (1h).
	Retention         time.Duration
	RetentionInterval time.Duration

	Live    LiveConfig    // HLS and RTMP outputs of the composite
	Cluster ClusterConfig // room ownership and placement among nodes

	WorkerConcurrency int // 0: no in-process worker
	WebhookURL        string
	WebhookSecret     string

	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.MediaPort == 0 {
		c.MediaPort = 8443
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.S3Bucket == "" {
		c.S3Bucket = "mosaic"
	}
	if c.S3Region == "" {
		c.S3Region = "us-east-1"
	}
	if c.Width == 0 {
		c.Width, c.Height = 1280, 720
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = time.Second
	}
	if c.VideoBitrateKbps == 0 {
		c.VideoBitrateKbps = 2500
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = 6 * time.Second
	}
	if c.RoomIdleTimeout == 0 {
		c.RoomIdleTimeout = 60 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}
