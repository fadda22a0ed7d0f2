package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/node"
)

func serveCmd() *cobra.Command {
	var c node.Config
	var logLevel string
	var shutdownTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Mosaic node: WebRTC ingest, mixers, recorder, API and (by default) a job worker",
		Long: `Run a Mosaic node. With no configuration everything runs in this process on
localhost: a redis-server child and an embedded S3 server keep their data under
--data-dir, and the printed URL opens the home page with an admin token.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			c.Log = newLogger(logLevel)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.Start(ctx, c)
			if err != nil {
				return err
			}
			admin, err := n.Issuer.Mint(auth.AnyRoom, "admin", auth.RoleAdmin, 24*time.Hour)
			if err != nil {
				return err
			}
			link := fmt.Sprintf("%s/?token=%s", n.URL(), admin)
			c.Log.Info("mosaic is serving", "url", n.URL(), "open", link)
			fmt.Fprintf(cmd.OutOrStdout(), "\nMosaic is running. Open this link to join a room (admin token, valid 24h):\n\n  %s\n\n", link)
			select {
			case <-ctx.Done():
			case <-n.Drained():
				c.Log.Info("drained")
			}
			stop()
			c.Log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := n.Close(sctx); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			c.Log.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.String("config", "", "config file of `name: value` lines (flag names)")
	f.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "HTTP address")
	f.StringVar(&c.PublicURL, "public-url", "", "base URL clients use to reach this node (default http://<listen>)")
	f.IntVar(&c.MediaPort, "media-port", 8443, "the one UDP (and TCP) port for all WebRTC media")
	f.StringSliceVar(&c.PublicIPs, "public-ip", nil, "public IPs to announce for 1:1 NAT (repeatable)")
	f.StringVar(&c.DataDir, "data-dir", "./data", "directory for recordings in progress, the secret and embedded services")
	f.StringVar(&c.NodeID, "node-id", "", "this node's id (default: made once and kept in the data dir)")
	f.StringVar(&c.RedisURL, "redis-url", "", "Redis URL (default: start a redis-server child under the data dir)")
	f.StringVar(&c.S3Endpoint, "s3-endpoint", "", "S3 endpoint host:port or URL (default: embedded S3 server under the data dir)")
	f.StringVar(&c.S3AccessKey, "s3-access-key", "", "S3 access key")
	f.StringVar(&c.S3SecretKey, "s3-secret-key", "", "S3 secret key")
	f.StringVar(&c.S3Bucket, "s3-bucket", "mosaic", "S3 bucket (created if missing)")
	f.StringVar(&c.S3Region, "s3-region", "us-east-1", "S3 region")
	f.BoolVar(&c.S3Secure, "s3-tls", false, "use TLS to reach S3")
	f.StringVar(&c.Secret, "secret", "", "token signing key (default: generated once into the data dir)")
	f.IntVar(&c.Width, "width", 1280, "composite width")
	f.IntVar(&c.Height, "height", 720, "composite height")
	f.IntVar(&c.FPS, "fps", 30, "composite frame rate")
	f.IntVar(&c.VideoBitrateKbps, "video-bitrate", 2500, "composite video bitrate in kbit/s")
	f.DurationVar(&c.KeyframeInterval, "keyframe-interval", time.Second, "composite keyframe interval (viewers start, and recordings split, on keyframes)")
	f.DurationVar(&c.SegmentDuration, "segment-duration", 6*time.Second, "recording segment length")
	f.DurationVar(&c.RecordingEmptyTimeout, "recording-empty-timeout", 0, "stop a recording when its room had no publisher this long (0: never)")
	f.DurationVar(&c.RecordingMaxDuration, "recording-max-duration", 0, "stop a recording after this long (0: no limit)")
	f.DurationVar(&c.RoomIdleTimeout, "room-idle-timeout", 60*time.Second, "close a room nobody publishes, views or records for this long")
	f.IntVar(&c.WorkerConcurrency, "worker-concurrency", 2, "tasks the in-process job worker runs at once (0: no in-process worker)")
	f.StringVar(&c.WebhookURL, "webhook-url", "", "URL notified (signed POST) when a recording is ready")
	f.StringVar(&c.WebhookSecret, "webhook-secret", "", "HMAC key for webhook signatures")
	f.DurationVar(&c.Retention, "retention", 0, "delete finished recordings this long after they stopped, e.g. 720h (0: keep them)")
	f.DurationVar(&c.RetentionInterval, "retention-interval", time.Hour, "how often the retention sweep runs")
	iceFlags(f, &c.ICE)
	liveFlags(f, &c.Live)
	clusterFlags(f, &c.Cluster)
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", 60*time.Second, "how long shutdown may take")
	annotateEnv(cmd)
	return cmd
}
