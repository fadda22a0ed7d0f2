package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// TypeUpload uploads one closed segment and marks it uploaded.
const TypeUpload = "recording:upload"

// DefaultUploadQueue is the queue upload tasks go to unless configured.
const DefaultUploadQueue = "uploads"

const (
	uploadMaxRetry  = 25
	uploadTimeout   = 15 * time.Minute
	uploadRetention = 24 * time.Hour
)

// UploadPayload describes a closed segment on local disk.
type UploadPayload struct {
	RecordingID string `json:"recording_id"`
	Room        string `json:"room"`
	Index       int    `json:"index"`
	// Path is the segment file on the local disk of the node that recorded it.
	Path string `json:"path"`
	// Key is the object key, SegmentKey(Room, RecordingID, Index) when empty.
	Key string `json:"key,omitempty"`
	// Size and SHA256 (hex) of the file; SHA256 is computed when empty.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// StartS and DurationS place the segment in the recording, if known.
	StartS    float64 `json:"start_s,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
	// Track, when set, makes this the upload of a raw track file named so
	// in the recording (tracks/{participant}-{track}.mkv, see
	// ValidTrackName) instead of a segment; Index is then the track file's
	// index, and TimingPath its local timing sidecar.
	Track      string `json:"track,omitempty"`
	TimingPath string `json:"timing_path,omitempty"`
}

func (p *UploadPayload) validate() error {
	if !catalog.ValidID(p.RecordingID) || !catalog.ValidRoom(p.Room) {
		return fmt.Errorf("%w: recording %q room %q", ErrBadPayload, p.RecordingID, p.Room)
	}
	if p.Index < 1 || p.Index > 99999 {
		return fmt.Errorf("%w: segment index %d", ErrBadPayload, p.Index)
	}
	if p.Track != "" {
		if err := p.validateTrack(); err != nil {
			return err
		}
	}
	if p.Key == "" {
		p.Key = SegmentKey(p.Room, p.RecordingID, p.Index)
	}
	if err := storage.ValidKey(p.Key); err != nil {
		return fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	if p.Path == "" || p.Size < 0 || p.DurationS < 0 || p.StartS < 0 {
		return fmt.Errorf("%w: path %q size %d", ErrBadPayload, p.Path, p.Size)
	}
	if p.SHA256 != "" && !validSHA256(p.SHA256) {
		return fmt.Errorf("%w: sha256 %q", ErrBadPayload, p.SHA256)
	}
	return nil
}

// UploadTaskID is the unique task ID of a segment's upload.
func UploadTaskID(recordingID string, index int) string {
	return fmt.Sprintf("upload:%s:%d", recordingID, index)
}

func uploadSpec(p UploadPayload, queue string) (taskSpec, error) {
	if err := p.validate(); err != nil {
		return taskSpec{}, err
	}
	if queue == "" {
		queue = DefaultUploadQueue
	}
	id := UploadTaskID(p.RecordingID, p.Index)
	if p.Track != "" {
		id = TrackUploadTaskID(p.RecordingID, p.Index)
	}
	return newSpec(TypeUpload, p, queue, id, uploadMaxRetry, uploadTimeout, uploadRetention)
}

// NewUploadTask builds the upload task of one segment for the given queue
// ("" for DefaultUploadQueue).
func NewUploadTask(p UploadPayload, queue string) (*asynq.Task, error) {
	s, err := uploadSpec(p, queue)
	if err != nil {
		return nil, err
	}
	return s.task(), nil
}

// handleUpload puts the segment, verifies it against the store, marks it
// uploaded, and only then removes the local file. Every step is idempotent.
func (h *handlers) handleUpload(ctx context.Context, t *asynq.Task) error {
	var p UploadPayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	var err error
	if p.Track != "" {
		log := h.log.With("recording", p.RecordingID, "room", p.Room, "track", p.Track)
		err = h.uploadTrack(ctx, p, log)
	} else {
		log := h.log.With("recording", p.RecordingID, "room", p.Room, "segment", p.Index)
		err = h.upload(ctx, p, log)
	}
	log := h.log.With("recording", p.RecordingID, "room", p.Room)
	if err != nil && (errors.Is(err, ErrSegmentLost) || lastAttempt(ctx)) {
		h.markFailed(ctx, p.RecordingID, err, log)
	}
	return err
}

func (h *handlers) upload(ctx context.Context, p UploadPayload, log *slog.Logger) error {
	size, sum, err := h.ensureUploaded(ctx, &p, log)
	if err != nil {
		return err
	}
	rec, err := h.cat.Update(ctx, p.RecordingID, func(r *catalog.Recording) error {
		seg := catalog.Segment{Index: p.Index, Name: SegmentName(p.Index), StartS: p.StartS, DurationS: p.DurationS}
		if old := r.Segment(p.Index); old != nil {
			seg = *old
		}
		seg.Name = SegmentName(p.Index)
		if p.DurationS > 0 {
			seg.StartS, seg.DurationS = p.StartS, p.DurationS
		}
		seg.Size, seg.SHA256, seg.Uploaded = size, sum, true
		r.PutSegment(seg)
		return nil
	})
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("upload segment %d: %w: %w", p.Index, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("upload segment %d: mark uploaded: %w", p.Index, err)
	}
	h.keepSegment(p, size, log)
	log.Info("segment uploaded", "key", p.Key, "size", size)
	if rec.ReadyToFinalize() {
		if err := h.enq.EnqueueFinalize(ctx, FinalizePayload{RecordingID: p.RecordingID}); err != nil {
			return fmt.Errorf("upload segment %d: enqueue finalize: %w", p.Index, err)
		}
	}
	return nil
}

// ensureUploaded makes sure the object holds the segment and returns its
// verified size and checksum.
func (h *handlers) ensureUploaded(ctx context.Context, p *UploadPayload, log *slog.Logger) (int64, string, error) {
	size, sum := p.Size, p.SHA256
	st, statErr := os.Stat(p.Path)
	if statErr == nil && sum == "" {
		var err error
		if sum, size, err = storage.HashFile(p.Path); err != nil {
			return 0, "", fmt.Errorf("upload segment %d: %w", p.Index, err)
		}
	} else if statErr == nil && st.Size() != size {
		return 0, "", fmt.Errorf("upload segment %d: %w: %s is %d bytes, payload says %d: %w",
			p.Index, ErrBadPayload, p.Path, st.Size(), size, asynq.SkipRetry)
	}

	if sum != "" {
		err := h.store.Verify(ctx, p.Key, size, sum)
		if err == nil {
			log.Debug("segment already in the store", "key", p.Key)
			return size, sum, nil
		}
		if !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrMismatch) {
			return 0, "", fmt.Errorf("upload segment %d: %w", p.Index, err)
		}
	}
	if statErr != nil && sum == "" {
		// No checksum to compare with: trust an object whose recorded
		// checksum and size survived the earlier upload.
		obj, err := h.store.Stat(ctx, p.Key)
		if err == nil && obj.SHA256 != "" && (p.Size == 0 || obj.Size == p.Size) {
			return obj.Size, obj.SHA256, nil
		}
	}
	if statErr != nil {
		if errors.Is(statErr, os.ErrNotExist) {
			return 0, "", fmt.Errorf("upload segment %d: %w: %s is gone and %s is not in the store: %w",
				p.Index, ErrSegmentLost, p.Path, p.Key, asynq.SkipRetry)
		}
		return 0, "", fmt.Errorf("upload segment %d: %w", p.Index, statErr)
	}
	ct := "video/mp4"
	if p.Track != "" {
		ct = "video/x-matroska"
	}
	began := time.Now()
	obj, err := h.store.PutFile(ctx, p.Key, p.Path, storage.PutOptions{ContentType: ct, SHA256: sum})
	if err != nil {
		return 0, "", fmt.Errorf("upload segment %d: %w", p.Index, err)
	}
	UploadSeconds.Observe(time.Since(began).Seconds())
	UploadBytes.Add(float64(obj.Size))
	return obj.Size, obj.SHA256, nil
}

const (
	// keptDirName is where, under the worker's work directory, segments
	// confirmed by the store are kept until their recording is finalized,
	// so a finalize on this node joins them without downloading them.
	keptDirName = "kept"
	// keptMaxBytes bounds the kept segments of all recordings: beyond it
	// a confirmed segment is removed at once, as without keeping.
	keptMaxBytes = 2 << 30
	// keptMaxAge is how long kept segments of a recording that some other
	// node finalized stay around.
	keptMaxAge = 24 * time.Hour
)

// keptPath is where segment index of a recording is kept.
func (h *handlers) keptPath(recordingID string, index int) string {
	return filepath.Join(h.workDir, keptDirName, recordingID, SegmentName(index))
}

// keepSegment runs once the store has confirmed a segment: the local file
// moves to the kept segments if there is room (a rename on the same file
// system, no copy), otherwise it is removed.
func (h *handlers) keepSegment(p UploadPayload, size int64, log *slog.Logger) {
	// A worker without a data directory works in the shared system
	// temporary directory: nothing is kept there.
	if h.workDir != os.TempDir() && h.keptBytes()+size <= keptMaxBytes {
		dst := h.keptPath(p.RecordingID, p.Index)
		err := os.MkdirAll(filepath.Dir(dst), 0o755)
		if err == nil {
			err = os.Rename(p.Path, dst)
		}
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		log.Debug("confirmed segment not kept", "path", p.Path, "err", err)
	}
	if err := os.Remove(p.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("segment uploaded but local file not removed", "path", p.Path, "err", err)
	}
}

// keptBytes is the size of all kept segments; recordings kept longer than
// keptMaxAge are removed on the way.
func (h *handlers) keptBytes() int64 {
	root := filepath.Join(h.workDir, keptDirName)
	dirs, err := os.ReadDir(root)
	if err != nil {
		return 0
	}
	var total int64
	for _, d := range dirs {
		dir := filepath.Join(root, d.Name())
		if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > keptMaxAge {
			_ = os.RemoveAll(dir)
			continue
		}
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if info, err := f.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return total
}

// dropKept removes a recording's kept segments.
func (h *handlers) dropKept(recordingID string) {
	_ = os.RemoveAll(filepath.Join(h.workDir, keptDirName, recordingID))
}
