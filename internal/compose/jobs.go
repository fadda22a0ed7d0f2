package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/mixer"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// Renderer is the GStreamer jobs.Renderer.
type Renderer struct {
	Log *slog.Logger
}

var _ jobs.Renderer = Renderer{}

// ParseLayout reads a layout given as its kind ("grid") or as a
// mixer.Layout object, and validates it.
func ParseLayout(raw json.RawMessage) (mixer.Layout, error) {
	var l mixer.Layout
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		l.Kind = mixer.LayoutGrid
	case strings.HasPrefix(s, `"`):
		if err := json.Unmarshal(raw, &l.Kind); err != nil {
			return l, fmt.Errorf("%w: %w", ErrLayout, err)
		}
	default:
		if err := json.Unmarshal(raw, &l); err != nil {
			return l, fmt.Errorf("%w: %w", ErrLayout, err)
		}
	}
	return l, validateLayout(l)
}

// Render renders a composition job; input that can never render wraps
// jobs.ErrBadRender.
func (r Renderer) Render(ctx context.Context, req jobs.RenderRequest) error {
	layout, err := ParseLayout(req.Layout)
	if err != nil {
		return fmt.Errorf("%w: %w", jobs.ErrBadRender, err)
	}
	spec := Spec{Layout: layout, Width: req.Width, Height: req.Height, FPS: req.FPS, From: req.From, To: req.To,
		Out: req.Out, Progress: req.Progress, Log: r.Log}
	for _, t := range req.Tracks {
		spec.Tracks = append(spec.Tracks, trackFile(t))
	}
	err = Render(ctx, spec)
	if permanent(err) {
		return fmt.Errorf("%w: %w", jobs.ErrBadRender, err)
	}
	return err
}

func trackFile(t jobs.RenderTrack) TrackFile {
	var tm recorder.TrackTiming
	if len(t.Timing) > 0 {
		_ = json.Unmarshal(t.Timing, &tm) // a bad sidecar places the track at the start
	}
	return TrackFile{Participant: t.Participant, Name: t.Name, Kind: media.Kind(t.Kind), Path: t.Path, Timing: tm}
}

func permanent(err error) bool {
	for _, e := range []error{ErrNoTracks, ErrLayout, ErrRange, ErrSpec, ErrTrack} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
