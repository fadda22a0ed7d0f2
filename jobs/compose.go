package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// TypeCompose renders a recording's raw tracks into a new composite with
// its own layout, size and range.
const TypeCompose = "recording:compose"

const (
	composeQueue     = "default"
	composeMaxRetry  = 5
	composeTimeout   = 2 * time.Hour
	composeRetention = 7 * 24 * time.Hour
	// cancelPoll is how often a running composition looks for a cancel.
	cancelPoll = time.Second
	// progressWrite is how often a running composition stores its progress.
	progressWrite = time.Second
)

// ComposePayload names the composition to render; its parameters are in
// the CompositionStore.
type ComposePayload struct {
	RecordingID   string `json:"recording_id"`
	CompositionID string `json:"composition_id"`
}

func (p *ComposePayload) validate() error {
	if !catalog.ValidID(p.RecordingID) {
		return fmt.Errorf("%w: recording %q", ErrBadPayload, p.RecordingID)
	}
	if !ValidCompositionID(p.CompositionID) {
		return fmt.Errorf("%w: composition %q", ErrBadPayload, p.CompositionID)
	}
	return nil
}

// ComposeTaskID is the unique task ID of a composition.
func ComposeTaskID(p ComposePayload) string {
	return "compose:" + p.RecordingID + ":" + p.CompositionID
}

// CompositionName is the file name of a composition in its recording.
func CompositionName(id string) string { return "compositions/" + id + ".mp4" }

// NewComposeTask builds the task of a composition.
func NewComposeTask(p ComposePayload) (*asynq.Task, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	s, err := newSpec(TypeCompose, p, composeQueue, ComposeTaskID(p), composeMaxRetry, composeTimeout, composeRetention)
	if err != nil {
		return nil, err
	}
	return s.task(), nil
}

// EnqueueCompose queues a composition (once: the task ID is unique).
func (e *Enqueuer) EnqueueCompose(ctx context.Context, p ComposePayload) error {
	t, err := NewComposeTask(p)
	if err != nil {
		return err
	}
	_, err = e.client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue compose %s: %w", p.CompositionID, err)
	}
	return nil
}

// Renderer renders compositions; the worker's caller injects it (GStreamer
// in production). Errors that can never go away wrap ErrBadRender.
type Renderer interface {
	Render(ctx context.Context, r RenderRequest) error
}

// RenderTrack is one downloaded raw track with its timing sidecar.
type RenderTrack struct {
	Participant, Name, Kind, Path string
	Timing                        json.RawMessage
}

// RenderRequest is a composition to render into Out.
type RenderRequest struct {
	Tracks             []RenderTrack
	Layout             json.RawMessage
	Width, Height, FPS int
	From, To           time.Duration
	Out                string
	Progress           func(done, total time.Duration)
}

func (h *handlers) handleCompose(ctx context.Context, t *asynq.Task) error {
	var p ComposePayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	log := h.log.With("recording", p.RecordingID, "composition", p.CompositionID)
	err := h.compose(ctx, p, log)
	if err != nil && (errors.Is(err, asynq.SkipRetry) || lastAttempt(ctx)) {
		h.failComposition(ctx, p.CompositionID, err, log)
	}
	return err
}

func (h *handlers) compose(ctx context.Context, p ComposePayload, log *slog.Logger) error {
	if h.comps == nil || h.render == nil {
		return fmt.Errorf("compose: %w: no renderer: %w", ErrConfig, asynq.SkipRetry)
	}
	c, err := h.comps.Get(ctx, p.CompositionID)
	if errors.Is(err, ErrCompositionNotFound) {
		return fmt.Errorf("compose: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if c.State.Final() || c.Cancelled {
		if c.Cancelled && !c.State.Final() {
			_, _ = h.comps.Update(ctx, c.ID, func(c *Composition) error { c.State = CompositionCancelled; return nil })
		}
		log.Info("composition already settled", "state", c.State)
		return nil
	}
	rec, err := h.cat.Get(ctx, p.RecordingID)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("compose: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if len(rec.TrackFiles) == 0 {
		return fmt.Errorf("compose %s: %w: %w", rec.ID, ErrNoTracks, asynq.SkipRetry)
	}
	if !rec.TracksUploaded() {
		return fmt.Errorf("compose %s: %w: raw tracks not all uploaded", rec.ID, ErrNotReady)
	}
	c, err = h.comps.Update(ctx, c.ID, func(c *Composition) error {
		c.State, c.Attempts, c.Error = CompositionRendering, c.Attempts+1, ""
		return nil
	})
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	log.Info("composition rendering", "attempt", c.Attempts, "tracks", len(rec.TrackFiles))

	dir, err := os.MkdirTemp(h.workDir, "compose-"+c.ID+"-")
	if err != nil {
		return fmt.Errorf("compose %s: %w", c.ID, err)
	}
	defer os.RemoveAll(dir)
	tracks, err := h.downloadTracks(ctx, rec, dir)
	if err != nil {
		return err
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchDone := make(chan struct{})
	var cancelled bool
	go func() {
		defer close(watchDone)
		cancelled = h.watchCancel(rctx, c.ID, cancel)
	}()
	out := filepath.Join(dir, "composition.mp4")
	var lastWrite time.Time
	err = h.render.Render(rctx, RenderRequest{Tracks: tracks, Layout: c.Layout, Width: c.Width, Height: c.Height, FPS: c.FPS,
		From: seconds(c.FromS), To: seconds(c.ToS), Out: out,
		Progress: func(done, total time.Duration) {
			if time.Since(lastWrite) < progressWrite && done < total {
				return
			}
			lastWrite = time.Now()
			if _, err := h.comps.Update(ctx, c.ID, func(c *Composition) error {
				c.DoneS, c.TotalS = done.Seconds(), total.Seconds()
				if total > 0 {
					c.Progress = min(100, 100*done.Seconds()/total.Seconds())
				}
				return nil
			}); err != nil {
				log.Warn("composition progress not stored", "err", err)
			}
		}})
	cancel()
	<-watchDone
	if cancelled {
		_, uerr := h.comps.Update(context.WithoutCancel(ctx), c.ID, func(c *Composition) error { c.State = CompositionCancelled; return nil })
		log.Info("composition cancelled", "update_err", uerr)
		return nil
	}
	if err != nil {
		if errors.Is(err, ErrBadRender) {
			return fmt.Errorf("compose %s: %w: %w", c.ID, err, asynq.SkipRetry)
		}
		return fmt.Errorf("compose %s: %w", c.ID, err)
	}
	key := FileKey(rec.Room, rec.ID, CompositionName(c.ID))
	obj, err := h.store.PutFile(ctx, key, out, storage.PutOptions{ContentType: "video/mp4"})
	if err != nil {
		return fmt.Errorf("compose %s: upload: %w", c.ID, err)
	}
	if _, err := h.comps.Update(ctx, c.ID, func(c *Composition) error {
		c.State, c.Key, c.Size, c.Progress, c.Renders = CompositionDone, key, obj.Size, 100, c.Renders+1
		c.DoneS = c.TotalS
		return nil
	}); err != nil {
		return fmt.Errorf("compose %s: mark done: %w", c.ID, err)
	}
	log.Info("composition done", "key", key, "size", obj.Size)
	return nil
}

// watchCancel polls the composition's cancel flag until ctx ends; when it
// is set it calls cancel and reports true.
func (h *handlers) watchCancel(ctx context.Context, id string, cancel context.CancelFunc) bool {
	tick := time.NewTicker(cancelPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			if c, err := h.comps.Get(ctx, id); err == nil && c.Cancelled {
				cancel()
				return true
			}
		}
	}
}

// downloadTracks fetches a recording's raw tracks and their timing sidecars.
func (h *handlers) downloadTracks(ctx context.Context, rec *catalog.Recording, dir string) ([]RenderTrack, error) {
	var out []RenderTrack
	for i, tf := range rec.TrackFiles {
		key := FileKey(rec.Room, rec.ID, tf.Name)
		path := filepath.Join(dir, fmt.Sprintf("track-%d.mkv", i))
		if err := h.store.Download(ctx, key, path); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("compose %s: track %s: %w: %w", rec.ID, tf.Name, err, asynq.SkipRetry)
			}
			return nil, fmt.Errorf("compose %s: track %s: %w", rec.ID, tf.Name, err)
		}
		rt := RenderTrack{Participant: tf.Participant, Name: tf.TrackID, Kind: tf.Kind, Path: path}
		tpath := path + TimingSuffix
		switch err := h.store.Download(ctx, key+TimingSuffix, tpath); {
		case err == nil:
			if b, rerr := os.ReadFile(tpath); rerr == nil && json.Valid(b) {
				rt.Timing = b
			}
		case errors.Is(err, storage.ErrNotFound):
		default:
			return nil, fmt.Errorf("compose %s: track %s timing: %w", rec.ID, tf.Name, err)
		}
		if rt.Kind == "" {
			rt.Kind = kindOfMime(tf.MimeType)
		}
		out = append(out, rt)
	}
	return out, nil
}

func kindOfMime(mime string) string {
	kind, _, _ := strings.Cut(strings.ToLower(mime), "/")
	return kind
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (h *handlers) failComposition(ctx context.Context, id string, cause error, log *slog.Logger) {
	if h.comps == nil {
		log.Error("composition failed", "cause", cause)
		return
	}
	_, err := h.comps.Update(context.WithoutCancel(ctx), id, func(c *Composition) error {
		if c.State.Final() {
			return nil
		}
		c.State, c.Error = CompositionFailed, cause.Error()
		return nil
	})
	log.Error("composition failed", "cause", cause, "update_err", err)
}
