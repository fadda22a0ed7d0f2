package node

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/cluster"
	"github.com/mosaic-rtc/mosaic/internal/embedded"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/recording"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/mixer"
	"github.com/mosaic-rtc/mosaic/storage"
)

// Node is a running `mosaic serve`.
type Node struct {
	cfg    Config
	log    *slog.Logger
	Issuer *auth.Issuer
	// rtmpRoots are the roots rtmps:// outputs trust (nil: the system's).
	rtmpRoots *x509.CertPool

	redisChild  *embedded.Redis
	s3Child     *embedded.S3
	rdb         *redis.Client
	redisURL    string
	uploadQueue string
	store       *storage.Client
	catalog     *catalog.Store
	enqueuer    *jobs.Enqueuer
	worker      *jobs.Worker
	rooms       *room.Registry
	recordings  *recording.Manager
	ingest      *ingest.Server
	cluster     *cluster.Cluster
	http        *http.Server
	listener    net.Listener

	cancel context.CancelFunc
	bg     []chan struct{} // background loops' done channels
}

// URL is the node's public HTTP base URL.
func (n *Node) URL() string { return n.cfg.PublicURL }

// Start brings the node up; Close takes it down.
func Start(ctx context.Context, cfg Config) (_ *Node, err error) {
	cfg.defaults()
	n := &Node{cfg: cfg, log: cfg.Log}
	// Before anything changes the working directory.
	if n.rtmpRoots, err = rootCAs(cfg.Live.RTMPSCAFile); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_ = n.Close(cctx)
			cancel()
		}
	}()
	bgctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel

	// Absolute: the embedded S3 server changes the working directory.
	if n.cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = n.cfg.DataDir
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	secret := []byte(cfg.Secret)
	if len(secret) == 0 {
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	if n.Issuer, err = auth.NewIssuer(secret); err != nil {
		return nil, err
	}
	if n.cfg.NodeID == "" {
		if n.cfg.NodeID, err = nodeID(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	n.log = n.log.With("node", n.cfg.NodeID)

	// Redis: external, or a child process with persistence under the data dir.
	redisURL := cfg.RedisURL
	if redisURL == "" {
		n.redisChild, err = embedded.StartRedis(bgctx, embedded.RedisConfig{Dir: filepath.Join(cfg.DataDir, "redis"), Log: n.log})
		if err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		redisURL = n.redisChild.URL()
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	n.rdb = redis.NewClient(opt)
	n.redisURL = redisURL

	// S3: external, or versitygw embedded with its posix backend.
	s3cfg := storage.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
		Bucket: cfg.S3Bucket, Region: cfg.S3Region, Secure: cfg.S3Secure}
	if cfg.S3Endpoint == "" {
		key, sec, kerr := localS3Keys(cfg.DataDir)
		if kerr != nil {
			return nil, kerr
		}
		n.s3Child, err = embedded.StartS3(bgctx, embedded.S3Config{Dir: filepath.Join(cfg.DataDir, "s3"),
			AccessKey: key, SecretKey: sec, Region: cfg.S3Region, Log: n.log})
		if err != nil {
			return nil, fmt.Errorf("embedded s3: %w", err)
		}
		s3cfg.Endpoint, s3cfg.AccessKey, s3cfg.SecretKey = n.s3Child.Endpoint(), key, sec
	}
	if n.store, err = storage.New(s3cfg); err != nil {
		return nil, err
	}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	err = n.store.EnsureBucket(bctx)
	bcancel()
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", cfg.S3Bucket, err)
	}

	n.catalog = catalog.New(n.rdb, "mosaic")
	uploadQueue := "uploads:" + n.cfg.NodeID
	n.uploadQueue = uploadQueue
	n.enqueuer, err = jobs.NewEnqueuer(jobs.EnqueuerConfig{RedisURL: redisURL, Dir: cfg.DataDir,
		UploadQueue: uploadQueue, Catalog: n.catalog, Log: n.log})
	if err != nil {
		return nil, err
	}
	n.goBackground(bgctx, n.enqueuer.Run)
	n.startRetention(bgctx)

	if cfg.WorkerConcurrency > 0 {
		wcfg := jobs.WorkerConfig{
			RedisURL: redisURL, Concurrency: cfg.WorkerConcurrency,
			Queues: map[string]int{uploadQueue: 6, "default": 3},
			Store:  n.store, Catalog: n.catalog, Enqueuer: n.enqueuer, Media: Media(),
			Dir: cfg.DataDir, UploadQueue: uploadQueue,
			WebhookURL: cfg.WebhookURL, WebhookSecret: cfg.WebhookSecret, Log: n.log.With("part", "worker"),
		}
		ComposeWorker(&wcfg, n.rdb, n.log.With("part", "worker"))
		n.worker, err = jobs.NewWorker(wcfg)
		if err != nil {
			return nil, err
		}
		n.goBackground(bgctx, n.worker.Run)
	}

	n.rooms = room.New(room.Config{
		Mixer: mixer.Config{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, VideoBitrateKbps: cfg.VideoBitrateKbps, KeyframeInterval: cfg.KeyframeInterval,
			VideoCodec: media.H264},
		IdleTimeout: cfg.RoomIdleTimeout, Log: n.log,
	})
	n.recordings, err = recording.New(recording.Config{
		Dir: filepath.Join(cfg.DataDir, "recordings"), Node: n.cfg.NodeID, Rooms: n.rooms, Catalog: n.catalog,
		Jobs: n.enqueuer, SegmentDuration: cfg.SegmentDuration, EmptyTimeout: cfg.RecordingEmptyTimeout,
		MaxDuration: cfg.RecordingMaxDuration, Log: n.log,
	})
	if err != nil {
		return nil, err
	}
	if k, rerr := n.recordings.Recover(ctx); rerr != nil {
		n.log.Error("recover recordings", "err", rerr)
	} else if k > 0 {
		n.log.Info("recovered recordings left by an unclean shutdown", "count", k)
	}

	turnCfg, iceServers, err := cfg.ICE.ingestICE(secret, cfg.PublicIPs)
	if err != nil {
		return nil, err
	}
	n.ingest, err = ingest.New(ingest.Config{MediaPort: cfg.MediaPort, PublicIPs: cfg.PublicIPs, Issuer: n.Issuer,
		Rooms: n.rooms, TURN: turnCfg, ICEServers: iceServers, Log: n.log.With("part", "ingest")})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}

	mux := n.newMux(bgctx)

	n.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if n.cfg.PublicURL == "" {
		n.cfg.PublicURL = "http://" + hostPort(n.listener.Addr().String())
	}
	routed, err := n.startCluster(bgctx, mux)
	if err != nil {
		_ = n.listener.Close()
		return nil, err
	}
	n.http = &http.Server{Handler: withRecover(routed, n.log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := n.http.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server", "err", err)
		}
	}()
	return n, nil
}

func (n *Node) goBackground(ctx context.Context, run func(context.Context) error) {
	done := make(chan struct{})
	n.bg = append(n.bg, done)
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("background loop stopped", "err", err)
		}
	}()
}

// Close shuts the node down in order: stop taking requests and media, end
// recordings (EOS: every segment finalized and queued), stop the mixers,
// drain the worker, then the stores.
func (n *Node) Close(ctx context.Context) error {
	var errs []error
	if n.cluster != nil {
		_ = n.cluster.Leave(ctx) // rooms reconnect on other nodes while this one finalizes
	}
	if n.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = n.http.Shutdown(sctx) // SSE streams are cut at the deadline
		cancel()
		_ = n.http.Close()
	}
	if n.ingest != nil {
		errs = append(errs, n.ingest.Close())
	}
	if n.recordings != nil {
		errs = append(errs, n.recordings.Close(ctx))
	}
	if n.rooms != nil {
		errs = append(errs, n.rooms.Close(ctx))
	}
	if n.cancel != nil {
		n.cancel() // worker finishes or hands back its tasks; outbox loop stops
	}
	for _, done := range n.bg {
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("background loops: %w", ctx.Err()))
		}
	}
	if n.enqueuer != nil {
		errs = append(errs, n.enqueuer.Close())
	}
	if n.rdb != nil {
		_ = n.rdb.Close()
	}
	if n.s3Child != nil {
		errs = append(errs, n.s3Child.Close())
	}
	if n.redisChild != nil {
		errs = append(errs, n.redisChild.Close())
	}
	return errors.Join(errs...)
}

func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// nodeID reads or creates the node's stable id in the data dir.
func nodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(host))
	raw := make([]byte, 3)
	_, _ = rand.Read(raw)
	id := strings.Trim(host, "-") + "-" + hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// localS3Keys are the embedded S3 server's credentials, made once.
func localS3Keys(dir string) (string, string, error) {
	path := filepath.Join(dir, "s3-credentials")
	if b, err := os.ReadFile(path); err == nil {
		parts := strings.Fields(string(b))
		if len(parts) == 2 {
			return parts[0], parts[1], nil
		}
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	key, sec := "mosaic"+hex.EncodeToString(raw[:5]), hex.EncodeToString(raw[5:])
	if err := os.WriteFile(path, []byte(key+" "+sec+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("s3 credentials: %w", err)
	}
	return key, sec, nil
}
