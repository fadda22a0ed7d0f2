package recording

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// Recover finds recordings that this node was running when it stopped
// without finishing them (a crash): their segments left on disk — the open
// one included, readable up to its last fragment — are checked, recorded and
// queued, and the recording is queued for finalization.
func (m *Manager) Recover(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("scan recordings: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || !catalog.ValidID(e.Name()) {
			continue
		}
		id := e.Name()
		m.mu.Lock()
		_, running := m.active[id]
		m.mu.Unlock()
		if running {
			continue
		}
		rec, err := m.cfg.Catalog.Get(ctx, id)
		if err != nil {
			m.log.Warn("recover: recording not in catalog", "recording", id, "err", err)
			continue
		}
		if rec.Node != "" && rec.Node != m.cfg.Node {
			continue
		}
		if err := m.recoverOne(ctx, rec); err != nil {
			m.log.Error("recover recording", "recording", id, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func (m *Manager) recoverOne(ctx context.Context, rec *catalog.Recording) error {
	dir := filepath.Join(m.cfg.Dir, rec.ID)
	segs, err := recorder.Recover(dir)
	if err != nil {
		return err
	}
	known := map[int]bool{}
	for _, s := range rec.Segments {
		known[s.Index] = s.Uploaded
	}
	for _, seg := range segs {
		if known[seg.Index] {
			continue // uploaded already; a stale local copy is removed by the upload job's idempotence
		}
		if err := m.cfg.Jobs.EnqueueUpload(ctx, jobs.UploadPayload{
			RecordingID: rec.ID, Room: rec.Room, Index: seg.Index, Path: seg.Path,
			Key: SegmentKey(rec.Room, rec.ID, seg.Index), Size: seg.Size, SHA256: seg.SHA256,
			StartS: seg.Start.Seconds(), DurationS: seg.Duration.Seconds(),
		}); err != nil {
			return fmt.Errorf("queue recovered segment %d: %w", seg.Index, err)
		}
	}
	for _, tf := range rec.TrackFiles {
		if tf.Uploaded {
			continue
		}
		// A track file cut by the crash is readable up to its last cluster.
		if err := queueTrack(m, rec.ID, rec.Room, tf, filepath.Join(dir, filepath.FromSlash(tf.Name))); err != nil {
			return fmt.Errorf("queue recovered track %s: %w", tf.Name, err)
		}
	}
	if rec.State == catalog.StateRecording || rec.State == catalog.StateUploading {
		now := time.Now().UTC()
		_, err := m.cfg.Catalog.Update(ctx, rec.ID, func(r *catalog.Recording) error {
			have := map[int]int{}
			for i, s := range r.Segments {
				have[s.Index] = i
			}
			var total float64
			for _, seg := range segs {
				entry := catalog.Segment{Index: seg.Index, Name: filepath.Base(seg.Path), StartS: seg.Start.Seconds(),
					DurationS: seg.Duration.Seconds(), Size: seg.Size, SHA256: seg.SHA256}
				if i, ok := have[seg.Index]; ok {
					if !r.Segments[i].Uploaded {
						r.Segments[i] = entry
					}
				} else {
					r.Segments = append(r.Segments, entry)
				}
			}
			for _, s := range r.Segments {
				total += s.DurationS
			}
			r.DurationS = total
			if r.State == catalog.StateRecording {
				r.State = catalog.StateUploading
				r.StoppedAt = &now
				r.Error = "recovered after an unclean shutdown"
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := m.cfg.Jobs.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
			return err
		}
	}
	m.log.Info("recording recovered", "recording", rec.ID, "segments", len(segs))
	return nil
}
