package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// A raw track file of a recording is stored at
// recordings/{room}/{id}/tracks/{participant}-{track}.mkv, its timing sidecar
// beside it with TimingSuffix appended.
const TimingSuffix = ".timing.json"

var trackNamePattern = regexp.MustCompile(`^tracks/[A-Za-z0-9_-]{1,100}\.mkv$`)

// ValidTrackName reports whether name is a track file name in a recording:
// "tracks/" then letters, digits, '_' or '-', then ".mkv".
func ValidTrackName(name string) bool { return trackNamePattern.MatchString(name) }

// TrackUploadTaskID is the unique task ID of a track file's upload.
func TrackUploadTaskID(recordingID string, index int) string {
	return fmt.Sprintf("upload:%s:track:%d", recordingID, index)
}

func (p *UploadPayload) validateTrack() error {
	if !ValidTrackName(p.Track) {
		return fmt.Errorf("%w: track file name %q", ErrBadPayload, p.Track)
	}
	if p.Key == "" {
		p.Key = FileKey(p.Room, p.RecordingID, p.Track)
	}
	if p.Key != FileKey(p.Room, p.RecordingID, p.Track) {
		return fmt.Errorf("%w: track key %q", ErrBadPayload, p.Key)
	}
	return nil
}

// uploadTrack stores a raw track file (and its timing sidecar, first) and
// marks it uploaded; the local files are removed only after that.
func (h *handlers) uploadTrack(ctx context.Context, p UploadPayload, log *slog.Logger) error {
	timingKey := p.Key + TimingSuffix
	if p.TimingPath != "" {
		if _, err := os.Stat(p.TimingPath); err == nil {
			if _, err := h.store.PutFile(ctx, timingKey, p.TimingPath, storage.PutOptions{ContentType: "application/json"}); err != nil {
				return fmt.Errorf("upload track %s: timing: %w", p.Track, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("upload track %s: timing: %w", p.Track, err)
		}
	}
	size, sum, err := h.ensureUploaded(ctx, &p, log)
	if err != nil {
		return err
	}
	rec, err := h.cat.Update(ctx, p.RecordingID, func(r *catalog.Recording) error {
		tf := r.TrackFile(p.Index)
		if tf == nil {
			r.TrackFiles = append(r.TrackFiles, catalog.TrackFile{Index: p.Index, Name: p.Track})
			tf = &r.TrackFiles[len(r.TrackFiles)-1]
		}
		tf.Size, tf.SHA256, tf.Closed, tf.Uploaded = size, sum, true, true
		return nil
	})
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("upload track %s: %w: %w", p.Track, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("upload track %s: mark uploaded: %w", p.Track, err)
	}
	for _, path := range []string{p.Path, p.TimingPath} {
		if path == "" {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("track uploaded but local file not removed", "path", path, "err", err)
		}
	}
	log.Info("track uploaded", "key", p.Key, "size", size)
	if rec.ReadyToFinalize() {
		if err := h.enq.EnqueueFinalize(ctx, FinalizePayload{RecordingID: p.RecordingID}); err != nil {
			return fmt.Errorf("upload track %s: enqueue finalize: %w", p.Track, err)
		}
	}
	return nil
}

// trackFiles lists a recording's uploaded track files for its manifest and
// its files, reading each timing sidecar back from the store.
func (h *handlers) trackFiles(ctx context.Context, rec *catalog.Recording, dir string) ([]ManifestTrack, []catalog.File, error) {
	var tracks []ManifestTrack
	var files []catalog.File
	for i, tf := range rec.TrackFiles {
		key := FileKey(rec.Room, rec.ID, tf.Name)
		mt := ManifestTrack{TrackFile: tf, Key: key, TimingKey: key + TimingSuffix}
		files = append(files, catalog.File{Name: tf.Name, Key: key, Size: tf.Size, SHA256: tf.SHA256})
		path := filepath.Join(dir, fmt.Sprintf("timing-%d.json", i))
		err := h.store.Download(ctx, mt.TimingKey, path)
		switch {
		case err == nil:
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				return nil, nil, fmt.Errorf("finalize %s: track timing: %w", rec.ID, rerr)
			}
			if json.Valid(data) {
				mt.Timing = data
			}
			if obj, serr := h.store.Stat(ctx, mt.TimingKey); serr == nil {
				files = append(files, catalog.File{Name: tf.Name + TimingSuffix, Key: mt.TimingKey, Size: obj.Size, SHA256: obj.SHA256})
			}
		case errors.Is(err, storage.ErrNotFound):
			// A track that never received a packet has no sidecar.
		default:
			return nil, nil, fmt.Errorf("finalize %s: track timing: %w", rec.ID, err)
		}
		tracks = append(tracks, mt)
	}
	return tracks, files, nil
}
