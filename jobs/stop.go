package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

// StopRecording marks the recording stopped at the given time (state
// uploading) and, if every segment is already uploaded, enqueues its
// finalize; otherwise the upload of the last segment does. Call it once the
// recorder has closed its last segment and enqueued its upload (with a
// catalog-aware Enqueuer), so the catalog knows every segment.
func StopRecording(ctx context.Context, cat *catalog.Store, enq *Enqueuer, id string, at time.Time) (*catalog.Recording, error) {
	rec, err := cat.Update(ctx, id, func(r *catalog.Recording) error {
		if r.Stopped() {
			return nil
		}
		t := at.UTC()
		r.StoppedAt = &t
		if r.State == catalog.StateRecording {
			r.State = catalog.StateUploading
		}
		if r.DurationS == 0 {
			r.DurationS = t.Sub(r.StartedAt).Seconds()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stop recording: %w", err)
	}
	if rec.ReadyToFinalize() {
		if err := enq.EnqueueFinalize(ctx, FinalizePayload{RecordingID: id}); err != nil {
			return rec, fmt.Errorf("stop recording: %w", err)
		}
	}
	return rec, nil
}
