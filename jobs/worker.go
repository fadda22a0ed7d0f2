package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	RedisURL    string
	Concurrency int // default: one per CPU
	// Queues maps queue names to priorities (default uploads:6, default:3).
	Queues  map[string]int
	Store   *storage.Client
	Catalog *catalog.Store
	Media   Media
	// Renderer and Compositions, when set, run compositions (TypeCompose);
	// Post, when set, runs the post-processing of ready recordings.
	Renderer     Renderer
	Compositions *CompositionStore
	Post         PostMedia
	Renditions   []int // picture heights of post-processing renditions (e.g. 360)
	// WebhookURL, when set, is notified of every recording that becomes ready.
	WebhookURL    string
	WebhookSecret string
	// Dir is the data directory: the outbox of tasks the worker enqueues
	// lives in Dir/outbox and finalize works in Dir/tmp. Default: the
	// system temporary directory, no outbox.
	Dir string
	// UploadQueue is where upload tasks go (default "uploads").
	UploadQueue string
	// Enqueuer, when set, is used for the tasks the worker enqueues
	// (finalize, notify) and is neither run nor closed by the worker.
	// Default: the worker makes its own from RedisURL, Dir and UploadQueue.
	Enqueuer *Enqueuer
	// RetryDelay overrides the backoff between attempts.
	RetryDelay func(attempt int, err error) time.Duration
	// ShutdownTimeout bounds how long Run waits for running tasks when ctx
	// ends; unfinished ones go back to the queue (default 10s).
	ShutdownTimeout time.Duration
	// PollInterval is how often retries and scheduled tasks are checked
	// (default 5s).
	PollInterval time.Duration
	// TaskCheckInterval is how long an idle worker waits before looking
	// for new tasks again (default 100ms): it is how late a segment's
	// upload or a recording's finalize may start after being queued.
	TaskCheckInterval time.Duration
	Log               *slog.Logger
}

// Worker runs recording tasks from Redis.
type Worker struct {
	cfg       WorkerConfig
	opt       asynq.RedisConnOpt
	h         *handlers
	enq       *Enqueuer
	ownEnq    bool
	closeOnce sync.Once
	log       *slog.Logger
}

// NewWorker checks the configuration; Run starts the work.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, fmt.Errorf("%w: worker needs a store and a catalog", ErrConfig)
	}
	opt, err := redisOpt(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "worker")
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	if cfg.UploadQueue == "" {
		cfg.UploadQueue = DefaultUploadQueue
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = map[string]int{cfg.UploadQueue: 6, "default": 3}
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.TaskCheckInterval <= 0 {
		cfg.TaskCheckInterval = 100 * time.Millisecond
	}
	work := os.TempDir()
	if cfg.Dir != "" {
		work = cfg.Dir + "/tmp"
		if err := os.MkdirAll(work, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	enq, ownEnq := cfg.Enqueuer, false
	if enq == nil {
		if enq, err = NewEnqueuer(EnqueuerConfig{RedisURL: cfg.RedisURL, Dir: cfg.Dir, UploadQueue: cfg.UploadQueue, Log: log}); err != nil {
			return nil, err
		}
		ownEnq = true
	}
	h := &handlers{
		store: cfg.Store, cat: cfg.Catalog, media: cfg.Media, enq: enq,
		render: cfg.Renderer, comps: cfg.Compositions, post: cfg.Post, renditions: cfg.Renditions,
		webhookURL: cfg.WebhookURL, webhookSecret: cfg.WebhookSecret,
		workDir: work, http: &http.Client{Timeout: 20 * time.Second}, log: log,
	}
	return &Worker{cfg: cfg, opt: opt, h: h, enq: enq, ownEnq: ownEnq, log: log}, nil
}

// Mux is the worker's task routing, for callers that run their own server.
func (w *Worker) Mux() *asynq.ServeMux { return w.h.mux() }

// Run processes tasks until ctx ends, then stops taking new ones, waits up
// to ShutdownTimeout for running ones (the rest go back to the queue) and
// returns once everything has stopped. It closes the worker.
func (w *Worker) Run(ctx context.Context) error {
	defer w.Close()
	srv := asynq.NewServer(w.opt, asynq.Config{
		Concurrency:              w.cfg.Concurrency,
		Queues:                   w.cfg.Queues,
		RetryDelayFunc:           w.retryDelay,
		IsFailure:                func(err error) bool { return !errors.Is(err, ErrNotReady) },
		ErrorHandler:             asynq.ErrorHandlerFunc(w.taskFailed),
		Logger:                   asynqLogger{w.log},
		LogLevel:                 asynq.WarnLevel,
		ShutdownTimeout:          w.cfg.ShutdownTimeout,
		DelayedTaskCheckInterval: w.cfg.PollInterval,
		TaskCheckInterval:        w.cfg.TaskCheckInterval,
		HealthCheckFunc: func(err error) {
			if err != nil {
				w.log.Warn("queue unreachable", "err", err)
			}
		},
	})
	if err := srv.Start(w.h.mux()); err != nil {
		return fmt.Errorf("jobs: start worker: %w", err)
	}
	w.log.Info("worker started", "queues", w.cfg.Queues, "concurrency", w.cfg.Concurrency)

	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		if w.ownEnq {
			_ = w.enq.Run(ctx)
		}
	}()
	<-ctx.Done()
	srv.Shutdown()
	<-outboxDone
	w.log.Info("worker stopped")
	return nil
}

// Close releases the worker's own Redis connections; Run calls it, and a
// worker used only through Mux should be closed by its owner.
func (w *Worker) Close() error {
	var err error
	w.closeOnce.Do(func() {
		if w.ownEnq {
			err = w.enq.Close()
		}
	})
	return err
}

func (w *Worker) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if w.cfg.RetryDelay != nil {
		return w.cfg.RetryDelay(n, err)
	}
	return Backoff(n, err)
}

// Backoff is the default delay before attempt n+1: exponential from 2s,
// capped at 10 minutes; 10s while a finalize waits for its uploads.
func Backoff(n int, err error) time.Duration {
	if errors.Is(err, ErrNotReady) {
		// Not counted as a failure, so n stays put: poll at a fixed pace
		// (the last upload also makes a waiting finalize run at once).
		return 10 * time.Second
	}
	return time.Duration(math.Min(float64(2*time.Second)*math.Pow(2, float64(n)), float64(10*time.Minute)))
}

func (w *Worker) taskFailed(ctx context.Context, t *asynq.Task, err error) {
	n, _ := asynq.GetRetryCount(ctx)
	max, _ := asynq.GetMaxRetry(ctx)
	id, _ := asynq.GetTaskID(ctx)
	level := slog.LevelWarn
	if errors.Is(err, ErrNotReady) {
		level = slog.LevelDebug
	} else if n >= max || errors.Is(err, asynq.SkipRetry) {
		level = slog.LevelError
	}
	w.log.Log(ctx, level, "task failed", "type", t.Type(), "task", id, "attempt", n, "max_retry", max, "err", err)
}
