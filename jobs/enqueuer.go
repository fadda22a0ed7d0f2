package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

// EnqueuerConfig configures an Enqueuer.
type EnqueuerConfig struct {
	RedisURL string
	// Dir is the data directory; tasks that cannot be enqueued wait in
	// Dir/outbox. Empty: no outbox, enqueue errors are returned.
	Dir string
	// UploadQueue is the queue of upload tasks (default "uploads").
	UploadQueue string
	// Catalog, when set, records each segment (not yet uploaded) as its
	// upload is enqueued, so a recording knows all its segments before they
	// reach the store.
	Catalog *catalog.Store
	// OutboxInterval is how often the outbox is retried (default 2s).
	OutboxInterval time.Duration
	Log            *slog.Logger
}

// Enqueuer puts recording tasks on the queue, falling back to the outbox
// when Redis is unreachable.
type Enqueuer struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	outbox    *Outbox
	queue     string
	cat       *catalog.Store
	log       *slog.Logger
}

// NewEnqueuer connects lazily to Redis; it does not fail when Redis is down.
func NewEnqueuer(cfg EnqueuerConfig) (*Enqueuer, error) {
	opt, err := redisOpt(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	e := &Enqueuer{
		client:    asynq.NewClient(opt),
		inspector: asynq.NewInspector(opt),
		queue:     cfg.UploadQueue,
		cat:       cfg.Catalog,
		log:       log.With("component", "jobs"),
	}
	if e.queue == "" {
		e.queue = DefaultUploadQueue
	}
	if cfg.Dir != "" {
		e.outbox, err = newOutbox(filepath.Join(cfg.Dir, "outbox"), e.client, cfg.OutboxInterval, e.log)
		if err != nil {
			_ = e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Outbox is the enqueuer's outbox, nil without a Dir.
func (e *Enqueuer) Outbox() *Outbox { return e.outbox }

// Run retries the outbox until ctx ends (returns at once without outbox).
func (e *Enqueuer) Run(ctx context.Context) error {
	if e.outbox == nil {
		<-ctx.Done()
		return nil
	}
	return e.outbox.Run(ctx)
}

// Close releases the Redis connections.
func (e *Enqueuer) Close() error {
	return errors.Join(e.client.Close(), e.inspector.Close())
}

// EnqueueUpload queues the upload of a closed segment. A nil error means the
// task is queued, was already queued, or waits in the outbox.
func (e *Enqueuer) EnqueueUpload(ctx context.Context, p UploadPayload) error {
	s, err := uploadSpec(p, e.queue)
	if err != nil {
		return err
	}
	if e.cat != nil && p.Track == "" {
		if err := e.registerSegment(ctx, p); errors.Is(err, catalog.ErrNotFound) {
			return fmt.Errorf("enqueue upload: %w", err)
		} else if err != nil {
			e.log.Warn("segment not recorded in the catalog before upload", "recording", p.RecordingID, "segment", p.Index, "err", err)
		}
	}
	return e.enqueue(ctx, s)
}

func (e *Enqueuer) registerSegment(ctx context.Context, p UploadPayload) error {
	_, err := e.cat.Update(ctx, p.RecordingID, func(r *catalog.Recording) error {
		if old := r.Segment(p.Index); old != nil {
			return nil
		}
		r.PutSegment(catalog.Segment{Index: p.Index, Name: SegmentName(p.Index), StartS: p.StartS,
			DurationS: p.DurationS, Size: p.Size, SHA256: p.SHA256})
		return nil
	})
	return err
}

// EnqueueFinalize queues the finalize of a recording. If it is already
// queued for a retry, it is made to run now.
func (e *Enqueuer) EnqueueFinalize(ctx context.Context, p FinalizePayload) error {
	s, err := finalizeSpec(p)
	if err != nil {
		return err
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = e.client.EnqueueContext(ectx, s.task())
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		// Waiting for a retry because it ran too early: run it now. An
		// active or finished task is left as it is.
		_ = e.inspector.RunTask(s.Queue, s.TaskID)
		return nil
	}
	if err != nil {
		return e.deferTask(s, err)
	}
	return nil
}

// EnqueueNotify queues the webhook notification of a recording.
func (e *Enqueuer) EnqueueNotify(ctx context.Context, p NotifyPayload) error {
	s, err := notifySpec(p)
	if err != nil {
		return err
	}
	return e.enqueue(ctx, s)
}

func (e *Enqueuer) enqueue(ctx context.Context, s taskSpec) error {
	if err := enqueueSpec(ctx, e.client, s); err != nil {
		return e.deferTask(s, err)
	}
	return nil
}

func (e *Enqueuer) deferTask(s taskSpec, cause error) error {
	if e.outbox == nil {
		return cause
	}
	if err := e.outbox.save(s); err != nil {
		return errors.Join(cause, err)
	}
	e.log.Warn("task kept in the outbox until the queue is reachable", "task", s.TaskID, "err", cause)
	return nil
}
