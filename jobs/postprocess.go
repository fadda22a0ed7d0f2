package jobs

import (
	"context"
	"encoding/json"
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

// TypePostprocess makes the extra files of a ready recording: audio.m4a,
// a contact sheet, optional renditions and a speaker timeline in the
// manifest.
const TypePostprocess = "recording:postprocess"

// Files post-processing adds to a recording.
const (
	AudioName        = "audio.m4a"
	ContactSheetName = "contact.jpg"
)

// RenditionName is the file name of a rendition of the composite.
func RenditionName(height int) string { return fmt.Sprintf("%dp.mp4", height) }

const (
	postQueue     = "default"
	postMaxRetry  = 10
	postTimeout   = time.Hour
	postRetention = 24 * time.Hour
)

// PostprocessPayload names the recording and the renditions (picture
// heights) to make.
type PostprocessPayload struct {
	RecordingID string `json:"recording_id"`
	Renditions  []int  `json:"renditions,omitempty"`
}

func (p *PostprocessPayload) validate() error {
	if !catalog.ValidID(p.RecordingID) {
		return fmt.Errorf("%w: recording %q", ErrBadPayload, p.RecordingID)
	}
	for _, h := range p.Renditions {
		if h < 90 || h > 2160 || h%2 != 0 {
			return fmt.Errorf("%w: rendition height %d (even, 90..2160)", ErrBadPayload, h)
		}
	}
	return nil
}

// EnqueuePostprocess queues a recording's post-processing (once).
func (e *Enqueuer) EnqueuePostprocess(ctx context.Context, p PostprocessPayload) error {
	if err := p.validate(); err != nil {
		return err
	}
	s, err := newSpec(TypePostprocess, p, postQueue, "postprocess:"+p.RecordingID, postMaxRetry, postTimeout, postRetention)
	if err != nil {
		return err
	}
	return e.enqueue(ctx, s)
}

// PostMedia does the media work of post-processing (GStreamer in
// production, injected like Media).
type PostMedia interface {
	// AudioOnly copies the composite's AAC into an M4A without re-encoding.
	AudioOnly(ctx context.Context, video, out string) error
	// ContactSheet writes a JPEG grid of thumbnails spread over the video.
	ContactSheet(ctx context.Context, video, out string) error
	// Rendition re-encodes the video at the given picture height.
	Rendition(ctx context.Context, video, out string, height int) error
	// Speakers says who spoke when from the raw audio tracks.
	Speakers(ctx context.Context, tracks []RenderTrack) ([]SpeakerTurn, error)
	// Waveform summarises the loudness of the composite's audio in n buckets (0..1).
	Waveform(ctx context.Context, video string, n int) ([]float64, error)
}

// SpeakerTurn is a stretch of time one participant spoke.
type SpeakerTurn struct {
	Participant string  `json:"participant"`
	StartS      float64 `json:"start_s"`
	EndS        float64 `json:"end_s"`
}

// waveformBuckets is the length of the waveform summary in the manifest.
const waveformBuckets = 200

func (h *handlers) handlePostprocess(ctx context.Context, t *asynq.Task) error {
	var p PostprocessPayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	log := h.log.With("recording", p.RecordingID)
	if h.post == nil {
		return fmt.Errorf("postprocess: %w: no media implementation: %w", ErrConfig, asynq.SkipRetry)
	}
	rec, err := h.cat.Get(ctx, p.RecordingID)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("postprocess: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("postprocess: %w", err)
	}
	if rec.State != catalog.StateReady {
		return fmt.Errorf("postprocess %s: %w: state %s: %w", rec.ID, ErrNotReady, rec.State, asynq.SkipRetry)
	}
	if hasFile(rec, AudioName) {
		log.Info("recording already post-processed")
		return nil
	}
	dir, err := os.MkdirTemp(h.workDir, "post-"+rec.ID+"-")
	if err != nil {
		return fmt.Errorf("postprocess %s: %w", rec.ID, err)
	}
	defer os.RemoveAll(dir)
	composite := filepath.Join(dir, CompositeName)
	if err := h.store.Download(ctx, FileKey(rec.Room, rec.ID, CompositeName), composite); err != nil {
		return fmt.Errorf("postprocess %s: composite: %w", rec.ID, err)
	}
	type made struct{ name, path, ct string }
	var outs []made
	audio := filepath.Join(dir, AudioName)
	if err := h.post.AudioOnly(ctx, composite, audio); err != nil {
		return fmt.Errorf("postprocess %s: audio: %w", rec.ID, err)
	}
	outs = append(outs, made{AudioName, audio, "audio/mp4"})
	sheet := filepath.Join(dir, ContactSheetName)
	if err := h.post.ContactSheet(ctx, composite, sheet); err != nil {
		return fmt.Errorf("postprocess %s: contact sheet: %w", rec.ID, err)
	}
	outs = append(outs, made{ContactSheetName, sheet, "image/jpeg"})
	for _, ht := range p.Renditions {
		path := filepath.Join(dir, RenditionName(ht))
		if err := h.post.Rendition(ctx, composite, path, ht); err != nil {
			return fmt.Errorf("postprocess %s: %dp: %w", rec.ID, ht, err)
		}
		outs = append(outs, made{RenditionName(ht), path, "video/mp4"})
	}

	var timeline postTimeline
	if tracks := audioTracks(rec); len(tracks) > 0 {
		dl, err := h.downloadTracks(ctx, &catalog.Recording{ID: rec.ID, Room: rec.Room, TrackFiles: tracks}, dir)
		if err != nil {
			return err
		}
		if timeline.Speakers, err = h.post.Speakers(ctx, dl); err != nil {
			return fmt.Errorf("postprocess %s: speakers: %w", rec.ID, err)
		}
		if timeline.Speakers == nil {
			timeline.Speakers = []SpeakerTurn{}
		}
	} else if timeline.Waveform, err = h.post.Waveform(ctx, composite, waveformBuckets); err != nil {
		return fmt.Errorf("postprocess %s: waveform: %w", rec.ID, err)
	}

	var files []catalog.File
	for _, o := range outs {
		f, err := h.put(ctx, rec, o.name, o.path, o.ct)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	mfile, err := h.updateManifest(ctx, rec, dir, files, timeline)
	if err != nil {
		return err
	}
	_, err = h.cat.Update(ctx, rec.ID, func(r *catalog.Recording) error {
		if hasFile(r, AudioName) {
			return nil
		}
		for i := range r.Files {
			if r.Files[i].Name == ManifestName {
				r.Files[i] = mfile
			}
		}
		r.Files = append(r.Files, files...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("postprocess %s: files: %w", rec.ID, err)
	}
	log.Info("recording post-processed", "files", len(files), "speaker_turns", len(timeline.Speakers))
	return nil
}

// postTimeline is what post-processing adds to manifest.json.
type postTimeline struct {
	Speakers []SpeakerTurn `json:"speakers,omitempty"`
	Waveform []float64     `json:"waveform,omitempty"`
}

// updateManifest adds the new files and the timeline to manifest.json,
// keeping every field it does not know.
func (h *handlers) updateManifest(ctx context.Context, rec *catalog.Recording, dir string, files []catalog.File, tl postTimeline) (catalog.File, error) {
	path := filepath.Join(dir, ManifestName)
	if err := h.store.Download(ctx, FileKey(rec.Room, rec.ID, ManifestName), path); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return catalog.File{}, fmt.Errorf("postprocess %s: manifest: %w", rec.ID, err)
	}
	m := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &m); err != nil {
			return catalog.File{}, fmt.Errorf("postprocess %s: manifest: %w", rec.ID, err)
		}
	}
	var listed []any
	if l, ok := m["files"].([]any); ok {
		listed = l
	}
	for _, f := range files {
		listed = append(listed, f)
	}
	m["files"] = listed
	if tl.Speakers != nil {
		m["speakers"] = tl.Speakers
	}
	if tl.Waveform != nil {
		m["waveform"] = tl.Waveform
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return catalog.File{}, fmt.Errorf("postprocess %s: manifest: %w", rec.ID, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return catalog.File{}, fmt.Errorf("postprocess %s: manifest: %w", rec.ID, err)
	}
	return h.put(ctx, rec, ManifestName, path, "application/json")
}

func audioTracks(rec *catalog.Recording) []catalog.TrackFile {
	var out []catalog.TrackFile
	for _, t := range rec.TrackFiles {
		if t.Uploaded && (t.Kind == "audio" || kindOfMime(t.MimeType) == "audio") {
			out = append(out, t)
		}
	}
	return out
}

func hasFile(rec *catalog.Recording, name string) bool {
	for _, f := range rec.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// enqueuePostprocess queues the post-processing of a recording that just
// became ready, when the worker can do it.
func (h *handlers) enqueuePostprocess(ctx context.Context, id string, log *slog.Logger) {
	if h.post == nil {
		return
	}
	if err := h.enq.EnqueuePostprocess(ctx, PostprocessPayload{RecordingID: id, Renditions: h.renditions}); err != nil {
		log.Error("post-processing not enqueued", "err", err)
	}
}
