package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/node"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

func workerCmd() *cobra.Command {
	var (
		redisURL, health, logLevel, queues string
		s3                                 storage.Config
		concurrency                        int
		renditions                         []int
		webhookURL, webhookSecret          string
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the job worker: uploads, finalization, post-processing and webhooks",
		Long: `Run the asynq job worker as its own process (for Docker, scaled horizontally).
It needs the Redis and S3 the nodes use. On SIGTERM it stops taking tasks and
finishes (or hands back) the ones it runs.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			log := newLogger(logLevel)
			if redisURL == "" || s3.Endpoint == "" {
				return fmt.Errorf("worker needs --redis-url and --s3-endpoint")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			store, err := storage.New(s3)
			if err != nil {
				return err
			}
			if err := store.EnsureBucket(ctx); err != nil {
				return err
			}
			opt, err := redis.ParseURL(redisURL)
			if err != nil {
				return fmt.Errorf("redis url: %w", err)
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			enq, err := jobs.NewEnqueuer(jobs.EnqueuerConfig{RedisURL: redisURL, Log: log})
			if err != nil {
				return err
			}
			defer enq.Close()
			qs, err := parseQueues(queues)
			if err != nil {
				return err
			}
			wcfg := jobs.WorkerConfig{
				RedisURL: redisURL, Concurrency: concurrency, Queues: qs,
				Store: store, Catalog: catalog.New(rdb, "mosaic"), Enqueuer: enq, Media: node.Media(),
				WebhookURL: webhookURL, WebhookSecret: webhookSecret, Renditions: renditions, Log: log,
			}
			node.ComposeWorker(&wcfg, rdb, log)
			w, err := jobs.NewWorker(wcfg)
			if err != nil {
				return err
			}
			if health != "" {
				srv := &http.Server{Addr: health, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if err := rdb.Ping(r.Context()).Err(); err != nil {
						http.Error(rw, err.Error(), http.StatusServiceUnavailable)
						return
					}
					fmt.Fprintln(rw, "ok")
				})}
				go func() { _ = srv.ListenAndServe() }()
				defer srv.Close()
			}
			log.Info("worker started", "concurrency", concurrency, "queues", qs)
			return w.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.String("config", "", "config file of `name: value` lines")
	f.StringVar(&redisURL, "redis-url", "", "Redis URL")
	f.StringVar(&s3.Endpoint, "s3-endpoint", "", "S3 endpoint host:port or URL")
	f.StringVar(&s3.AccessKey, "s3-access-key", "", "S3 access key")
	f.StringVar(&s3.SecretKey, "s3-secret-key", "", "S3 secret key")
	f.StringVar(&s3.Bucket, "s3-bucket", "mosaic", "S3 bucket")
	f.StringVar(&s3.Region, "s3-region", "us-east-1", "S3 region")
	f.BoolVar(&s3.Secure, "s3-tls", false, "use TLS to reach S3")
	f.IntVar(&concurrency, "concurrency", 0, "tasks run at once (0: one per CPU)")
	f.StringVar(&queues, "queues", "default=1", "queues and priorities, e.g. default=3,uploads=6")
	f.IntSliceVar(&renditions, "renditions", nil, "picture heights of extra renditions made after a recording is ready (e.g. 360)")
	f.StringVar(&webhookURL, "webhook-url", "", "URL notified when a recording is ready")
	f.StringVar(&webhookSecret, "webhook-secret", "", "HMAC key for webhook signatures")
	f.StringVar(&health, "health-listen", "", "address for a /healthz endpoint (e.g. :8081)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	annotateEnv(cmd)
	return cmd
}

func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, prio, ok := strings.Cut(part, "=")
		p := 1
		if ok {
			if _, err := fmt.Sscanf(prio, "%d", &p); err != nil || p < 1 {
				return nil, fmt.Errorf("queue %q: priority must be a positive integer", part)
			}
		}
		out[name] = p
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no queues given")
	}
	return out, nil
}
