package recording

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// session is one running recording: the room's output feeding a recorder.
type session struct {
	m       *Manager
	id      string
	room    *room.Room
	rec     *recorder.Recorder
	reader  *media.Reader
	tracks  bool // raw tracks recorded through a room tap
	started time.Time
	reason  string
	done    chan struct{} // closed when pump returns
	once    sync.Once
	result  *catalog.Recording
	err     error
}

func (s *session) pump() {
	defer close(s.done)
	first := true
	for smp := range s.reader.C {
		if first && smp.Kind == media.Video && smp.Keyframe {
			first = false
			s.m.log.Info("recording's first keyframe", "recording", s.id, "after", time.Since(s.started).Round(time.Millisecond))
		}
		if err := s.rec.Write(smp); err != nil {
			s.m.log.Warn("recorder write", "recording", s.id, "err", err)
		}
	}
}

func (s *session) limit(now time.Time) string {
	if d := s.m.cfg.MaxDuration; d > 0 && now.Sub(s.started) >= d {
		return "max duration"
	}
	if d := s.m.cfg.EmptyTimeout; d > 0 {
		if empty, since := s.room.Empty(); empty && !since.IsZero() && now.Sub(since) >= d && now.Sub(s.started) >= d {
			return "room empty"
		}
	}
	return ""
}

// onSegment records a closed segment and queues its upload.
func (s *session) onSegment(seg recorder.Segment) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := filepath.Base(seg.Path)
	key := SegmentKey(s.room.Name(), s.id, seg.Index)
	_, err := s.m.cfg.Catalog.Update(ctx, s.id, func(r *catalog.Recording) error {
		for _, have := range r.Segments {
			if have.Index == seg.Index {
				return nil
			}
		}
		r.Segments = append(r.Segments, catalog.Segment{
			Index: seg.Index, Name: name, StartS: seg.Start.Seconds(), DurationS: seg.Duration.Seconds(),
			Size: seg.Size, SHA256: seg.SHA256,
		})
		return nil
	})
	if err != nil {
		// The upload task carries everything it needs; the catalog entry is
		// added again when the task runs.
		s.m.log.Error("catalog segment", "recording", s.id, "segment", seg.Index, "err", err)
	}
	if err := s.m.cfg.Jobs.EnqueueUpload(ctx, jobs.UploadPayload{
		RecordingID: s.id, Room: s.room.Name(), Index: seg.Index, Path: seg.Path, Key: key,
		Size: seg.Size, SHA256: seg.SHA256, StartS: seg.Start.Seconds(), DurationS: seg.Duration.Seconds(),
	}); err != nil {
		s.m.log.Error("queue segment upload", "recording", s.id, "segment", seg.Index, "err", err)
	}
}

// finish stops the recorder (its last segment is announced), marks the
// recording uploading and queues finalization. Safe to call more than once.
func (s *session) finish(ctx context.Context, reason string) (*catalog.Recording, error) {
	s.once.Do(func() {
		if s.tracks {
			s.room.Untap(s.id) // every track file finished and queued
		}
		s.reader.Close()
		<-s.done
		closeErr := s.rec.Close(ctx)
		s.room.Release(s.id)
		now := time.Now().UTC()
		s.result, s.err = s.m.cfg.Catalog.Update(context.Background(), s.id, func(r *catalog.Recording) error {
			if r.State == catalog.StateRecording {
				r.State = catalog.StateUploading
			}
			r.StoppedAt = &now
			var total float64
			for _, seg := range r.Segments {
				total += seg.DurationS
			}
			r.DurationS = total
			if closeErr != nil {
				r.Error = fmt.Sprintf("recorder: %v", closeErr)
			}
			return nil
		})
		if s.err != nil {
			return
		}
		if err := s.m.cfg.Jobs.EnqueueFinalize(context.Background(), jobs.FinalizePayload{RecordingID: s.id}); err != nil {
			s.m.log.Error("queue finalize", "recording", s.id, "err", err)
		}
		s.m.log.Info("recording stopped", "recording", s.id, "reason", reason, "segments", len(s.result.Segments))
		s.m.cfg.Rooms.Emit(room.Event{Type: "recording_stopped", Room: s.room.Name(), Recording: s.id})
	})
	return s.result, s.err
}
