package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

// TypeRetention deletes finished recordings older than the retention age:
// their objects first, then their catalog entries.
const TypeRetention = "recording:retention"

const (
	retentionQueue    = "default"
	retentionMaxRetry = 3
	retentionTimeout  = 30 * time.Minute
	retentionPage     = 500
)

// RetentionPayload is one sweep: recordings that stopped more than MaxAgeS
// seconds before Now are deleted. Slot makes the task id unique per period
// so that, however many nodes queue it, one sweep runs per period.
type RetentionPayload struct {
	MaxAgeS float64   `json:"max_age_s"`
	Now     time.Time `json:"now"`
	Slot    int64     `json:"slot"`
}

func (p *RetentionPayload) validate() error {
	if p.MaxAgeS <= 0 || p.Now.IsZero() || p.Slot < 0 {
		return fmt.Errorf("%w: retention max age %v s, now %v, slot %d", ErrBadPayload, p.MaxAgeS, p.Now, p.Slot)
	}
	return nil
}

// RetentionTaskID is the unique task ID of the sweep of one period.
func RetentionTaskID(slot int64) string { return fmt.Sprintf("retention:%d", slot) }

// EnqueueRetention queues the sweep of the period now falls in (periods of
// length every); a sweep of that period already queued or done is left alone.
func (e *Enqueuer) EnqueueRetention(ctx context.Context, maxAge, every time.Duration, now time.Time) error {
	if every <= 0 {
		return fmt.Errorf("%w: retention period %s", ErrConfig, every)
	}
	slot := now.UnixNano() / int64(every)
	p := RetentionPayload{MaxAgeS: maxAge.Seconds(), Now: now.UTC(), Slot: slot}
	if err := p.validate(); err != nil {
		return err
	}
	s, err := newSpec(TypeRetention, p, retentionQueue, RetentionTaskID(slot), retentionMaxRetry, retentionTimeout, 2*every)
	if err != nil {
		return err
	}
	return e.enqueue(ctx, s)
}

func (h *handlers) handleRetention(ctx context.Context, t *asynq.Task) error {
	var p RetentionPayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	n, err := Sweep(ctx, h.cat, h.store, time.Duration(p.MaxAgeS*float64(time.Second)), p.Now, h.log)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	h.log.Info("retention sweep", "deleted", n, "max_age", time.Duration(p.MaxAgeS*float64(time.Second)))
	return nil
}

// PrefixDeleter removes every object under a prefix.
type PrefixDeleter interface {
	DeletePrefix(ctx context.Context, prefix string) error
}

// Sweep deletes the finished (ready or failed) recordings that stopped
// before now-maxAge: objects, then the catalog entry. Recordings still
// recording or uploading are never touched.
func Sweep(ctx context.Context, cat *catalog.Store, store PrefixDeleter, maxAge time.Duration, now time.Time, log *slog.Logger) (int, error) {
	cutoff := now.Add(-maxAge)
	var old []*catalog.Recording
	for offset := 0; ; offset += retentionPage {
		page, err := cat.List(ctx, "", offset, retentionPage)
		if err != nil {
			return 0, err
		}
		for _, r := range page {
			if expired(r, cutoff) {
				old = append(old, r)
			}
		}
		if len(page) < retentionPage {
			break
		}
	}
	n := 0
	for _, r := range old {
		if err := store.DeletePrefix(ctx, RecordingPrefix(r.Room, r.ID)); err != nil {
			return n, fmt.Errorf("delete objects of %s: %w", r.ID, err)
		}
		if err := cat.Delete(ctx, r.ID); err != nil {
			return n, fmt.Errorf("delete %s: %w", r.ID, err)
		}
		log.Info("recording deleted by retention", "recording", r.ID, "room", r.Room, "stopped_at", r.StoppedAt)
		n++
	}
	return n, nil
}

func expired(r *catalog.Recording, cutoff time.Time) bool {
	if r.State != catalog.StateReady && r.State != catalog.StateFailed {
		return false
	}
	end := r.StartedAt
	if r.StoppedAt != nil {
		end = *r.StoppedAt
	}
	return end.Before(cutoff)
}
