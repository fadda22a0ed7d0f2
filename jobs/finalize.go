package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// TypeFinalize turns a stopped recording whose segments are all uploaded
// into its finished files: composite.mp4, thumbnail.jpg and manifest.json.
const TypeFinalize = "recording:finalize"

const (
	finalizeQueue     = "default"
	finalizeMaxRetry  = 25
	finalizeTimeout   = 30 * time.Minute
	finalizeRetention = 24 * time.Hour
	// A stopped recording with no segment after noSegmentsWait, or with
	// segments not uploaded after uploadsWait, fails.
	noSegmentsWait = 2 * time.Minute
	uploadsWait    = 24 * time.Hour
)

// FinalizePayload names the recording to finalize.
type FinalizePayload struct {
	RecordingID string `json:"recording_id"`
}

func (p *FinalizePayload) validate() error {
	if !catalog.ValidID(p.RecordingID) {
		return fmt.Errorf("%w: recording %q", ErrBadPayload, p.RecordingID)
	}
	return nil
}

// FinalizeTaskID is the unique task ID of a recording's finalize.
func FinalizeTaskID(recordingID string) string { return "finalize:" + recordingID }

func finalizeSpec(p FinalizePayload) (taskSpec, error) {
	if err := p.validate(); err != nil {
		return taskSpec{}, err
	}
	return newSpec(TypeFinalize, p, finalizeQueue, FinalizeTaskID(p.RecordingID), finalizeMaxRetry, finalizeTimeout, finalizeRetention)
}

// NewFinalizeTask builds the finalize task of a recording.
func NewFinalizeTask(p FinalizePayload) (*asynq.Task, error) {
	s, err := finalizeSpec(p)
	if err != nil {
		return nil, err
	}
	return s.task(), nil
}

// Manifest is the manifest.json stored beside a recording's files.
type Manifest struct {
	ID           string            `json:"id"`
	Room         string            `json:"room"`
	StartedAt    time.Time         `json:"started_at"`
	StoppedAt    *time.Time        `json:"stopped_at,omitempty"`
	DurationS    float64           `json:"duration_s"`
	Segments     []ManifestSegment `json:"segments"`
	Files        []catalog.File    `json:"files"`
	Participants []string          `json:"participants,omitempty"`
	Tracks       []ManifestTrack   `json:"tracks,omitempty"`
}

// ManifestTrack is one raw track file in the manifest, with its timing
// sidecar (RTP/NTP pairs from the sender reports) inline.
type ManifestTrack struct {
	catalog.TrackFile
	Key       string          `json:"key"`
	TimingKey string          `json:"timing_key"`
	Timing    json.RawMessage `json:"timing,omitempty"`
}

// ManifestSegment is one segment in the manifest.
type ManifestSegment struct {
	catalog.Segment
	Key string `json:"key"`
}

// handleFinalize is safe to run any number of times: a recording already
// ready is left alone, one not ready yet makes the task retry.
func (h *handlers) handleFinalize(ctx context.Context, t *asynq.Task) error {
	var p FinalizePayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	log := h.log.With("recording", p.RecordingID)
	err := h.finalize(ctx, p.RecordingID, log)
	if err != nil && !errors.Is(err, ErrNotReady) && (errors.Is(err, asynq.SkipRetry) || lastAttempt(ctx)) {
		h.markFailed(ctx, p.RecordingID, err, log)
	}
	return err
}

func (h *handlers) finalize(ctx context.Context, id string, log *slog.Logger) error {
	rec, err := h.cat.Get(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("finalize: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if rec.State == catalog.StateReady || rec.State == catalog.StateFailed {
		h.dropKept(id)
		log.Info("recording already finalized", "state", rec.State)
		return nil
	}
	if !rec.ReadyToFinalize() {
		err := fmt.Errorf("finalize %s: %w (stopped %v, %d segments, all uploaded %v)",
			id, ErrNotReady, rec.Stopped(), len(rec.Segments), rec.AllUploaded())
		if rec.Stopped() {
			waited := time.Since(*rec.StoppedAt)
			if len(rec.Segments) == 0 && waited > noSegmentsWait {
				return fmt.Errorf("finalize %s: %w: stopped %s ago: %w", id, ErrNoSegments, waited.Round(time.Second), asynq.SkipRetry)
			}
			if waited > uploadsWait {
				return fmt.Errorf("finalize %s: segments still not uploaded %s after stop: %w", id, waited.Round(time.Second), asynq.SkipRetry)
			}
		}
		return err
	}
	if h.media == nil {
		return fmt.Errorf("finalize %s: %w: no media implementation: %w", id, ErrConfig, asynq.SkipRetry)
	}

	dir, err := os.MkdirTemp(h.workDir, "finalize-"+id+"-")
	if err != nil {
		return fmt.Errorf("finalize %s: %w", id, err)
	}
	defer os.RemoveAll(dir)

	began := time.Now()
	paths, kept, sum, err := h.gatherSegments(ctx, rec, dir)
	if err != nil {
		return err
	}
	gathered := time.Now()

	// The kept copies' checksums are checked while the segments are
	// joined; should one not match, it is downloaded and the join redone.
	damaged := make(chan []int, 1)
	go func() { damaged <- h.damagedKept(rec, paths, kept) }()
	thumb := filepath.Join(dir, ThumbnailName)
	composite := filepath.Join(dir, CompositeName)
	joinErr := h.join(ctx, id, paths, composite, thumb)
	if bad := <-damaged; len(bad) > 0 {
		log.Warn("kept segments do not match their checksum; downloading them", "segments", len(bad))
		if err := h.downloadInto(ctx, rec, dir, bad, paths); err != nil {
			return err
		}
		joinErr = h.join(ctx, id, paths, composite, thumb)
	}
	if joinErr != nil {
		return joinErr
	}
	joined := time.Now()

	// The composite and the thumbnail are stored at once.
	var thumbFile catalog.File
	thumbPut := make(chan error, 1)
	go func() {
		var err error
		thumbFile, err = h.put(ctx, rec, ThumbnailName, thumb, "image/jpeg")
		thumbPut <- err
	}()
	compositeFile, err := h.put(ctx, rec, CompositeName, composite, "video/mp4")
	if terr := <-thumbPut; err == nil {
		err = terr
	}
	if err != nil {
		return err
	}
	duration := sum
	if pr, ok := h.media.(Prober); ok {
		if d, err := pr.Duration(ctx, composite); err == nil && d > 0 {
			duration = d
		} else if err != nil {
			log.Warn("composite duration unknown, using the segments' sum", "err", err)
		}
	}
	files := []catalog.File{compositeFile, thumbFile}
	stored := time.Now()

	tracks, trackFiles, err := h.trackFiles(ctx, rec, dir)
	if err != nil {
		return err
	}
	files = append(files, trackFiles...)
	manifest := Manifest{ID: id, Room: rec.Room, StartedAt: rec.StartedAt, StoppedAt: rec.StoppedAt,
		DurationS: duration, Files: files, Participants: rec.Participants, Tracks: tracks}
	for _, s := range rec.Segments {
		manifest.Segments = append(manifest.Segments, ManifestSegment{Segment: s, Key: SegmentKey(rec.Room, id, s.Index)})
	}
	data, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return fmt.Errorf("finalize %s: manifest: %w", id, err)
	}
	mpath := filepath.Join(dir, ManifestName)
	if err := os.WriteFile(mpath, data, 0o644); err != nil {
		return fmt.Errorf("finalize %s: manifest: %w", id, err)
	}
	mfile, err := h.put(ctx, rec, ManifestName, mpath, "application/json")
	if err != nil {
		return err
	}
	files = append(files, mfile)

	finished := false
	rec, err = h.cat.Update(ctx, id, func(r *catalog.Recording) error {
		if r.State == catalog.StateReady {
			return nil
		}
		finished = true
		r.State, r.DurationS, r.Files = catalog.StateReady, duration, files
		return nil
	})
	if err != nil {
		return fmt.Errorf("finalize %s: mark ready: %w", id, err)
	}
	h.dropKept(id)
	if !finished {
		return nil
	}
	log.Info("recording ready", "duration_s", duration, "segments", len(paths),
		"gather_s", gathered.Sub(began).Seconds(), "join_s", joined.Sub(gathered).Seconds(),
		"store_s", stored.Sub(joined).Seconds(), "total_s", time.Since(began).Seconds())
	h.enqueuePostprocess(ctx, id, log)
	if h.webhookURL != "" {
		if err := h.enq.EnqueueNotify(ctx, NotifyPayload{RecordingID: id, URL: h.webhookURL}); err != nil {
			log.Error("webhook notification not enqueued", "err", err)
		}
	}
	return nil
}

func (h *handlers) put(ctx context.Context, rec *catalog.Recording, name, path, ct string) (catalog.File, error) {
	key := FileKey(rec.Room, rec.ID, name)
	obj, err := h.store.PutFile(ctx, key, path, storage.PutOptions{ContentType: ct})
	if err != nil {
		return catalog.File{}, fmt.Errorf("finalize %s: upload %s: %w", rec.ID, name, err)
	}
	return catalog.File{Name: name, Key: key, Size: obj.Size, SHA256: obj.SHA256}, nil
}

// markFailed records a final error on the recording.
func (h *handlers) markFailed(ctx context.Context, id string, cause error, log *slog.Logger) {
	h.dropKept(id)
	_, err := h.cat.Update(context.WithoutCancel(ctx), id, func(r *catalog.Recording) error {
		if r.State == catalog.StateReady {
			return nil
		}
		r.State, r.Error = catalog.StateFailed, cause.Error()
		return nil
	})
	log.Error("recording failed", "cause", cause, "update_err", err)
}

// join makes the composite of the segments and, at the same time, the
// thumbnail from the first one.
func (h *handlers) join(ctx context.Context, id string, paths []string, composite, thumb string) error {
	thumbErr := make(chan error, 1)
	go func() { thumbErr <- h.media.Thumbnail(ctx, paths[0], thumb) }()
	err := h.media.Concat(ctx, paths, composite)
	terr := <-thumbErr
	if err != nil {
		return fmt.Errorf("finalize %s: concat: %w", id, err)
	}
	if terr != nil {
		return fmt.Errorf("finalize %s: thumbnail: %w", id, terr)
	}
	return nil
}

// gatherSegments returns the path of each of the recording's segments, in
// order, and their summed duration. A segment this node kept after the
// store confirmed it is used where it is when its size is right (kept lists
// those, for damagedKept to check); the others are downloaded into dir.
func (h *handlers) gatherSegments(ctx context.Context, rec *catalog.Recording, dir string) (paths []string, kept []int, sum float64, err error) {
	if len(rec.Segments) == 0 {
		return nil, nil, 0, fmt.Errorf("finalize %s: no segments: %w", rec.ID, asynq.SkipRetry)
	}
	paths = make([]string, len(rec.Segments))
	var missing []int
	for i, s := range rec.Segments {
		sum += s.DurationS
		path := h.keptPath(rec.ID, s.Index)
		if st, err := os.Stat(path); err == nil && s.SHA256 != "" && st.Size() == s.Size {
			paths[i] = path
			kept = append(kept, i)
			continue
		}
		missing = append(missing, i)
	}
	if err := h.downloadInto(ctx, rec, dir, missing, paths); err != nil {
		return nil, nil, 0, err
	}
	return paths, kept, sum, nil
}

// damagedKept returns those of the kept segments (indexes into paths)
// whose SHA-256 is not the one the store confirmed.
func (h *handlers) damagedKept(rec *catalog.Recording, paths []string, kept []int) []int {
	bad := make([]bool, len(kept))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for k, i := range kept {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sum, n, err := storage.HashFile(paths[i])
			s := rec.Segments[i]
			bad[k] = err != nil || n != s.Size || sum != s.SHA256
		}()
	}
	wg.Wait()
	var out []int
	for k, i := range kept {
		if bad[k] {
			out = append(out, i)
		}
	}
	return out
}

// downloadInto downloads the segments at the given indexes into dir, a few
// at a time, and points their paths there.
func (h *handlers) downloadInto(ctx context.Context, rec *catalog.Recording, dir string, indexes []int, paths []string) error {
	id := rec.ID
	errs := make([]error, len(indexes))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for k, i := range indexes {
		s := rec.Segments[i]
		path := filepath.Join(dir, SegmentName(s.Index))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := h.store.Download(ctx, SegmentKey(rec.Room, id, s.Index), path); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					errs[k] = fmt.Errorf("finalize %s: segment %d: %w: %w", id, s.Index, err, asynq.SkipRetry)
				} else {
					errs[k] = fmt.Errorf("finalize %s: segment %d: %w", id, s.Index, err)
				}
				return
			}
			paths[i] = path
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
