package compose

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// Defaults of a Spec.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
	DefaultFPS    = 30
)

// TrackFile is one raw track recording (recorder.Track's Matroska file)
// with its timing sidecar.
type TrackFile struct {
	Participant string
	Name        string // the track's name, e.g. "cam", "mic", "screen"
	Kind        media.Kind
	Path        string
	Timing      recorder.TrackTiming
}

// Spec says what to render.
type Spec struct {
	Tracks []TrackFile
	Layout mixer.Layout
	// Width, Height and FPS of the output (default 1280x720 at 30).
	Width, Height, FPS int
	// From and To cut the recording's timeline (To 0: its end).
	From, To time.Duration
	// Out is the MP4 file written (through Out+".part", renamed at the end).
	Out string
	// Progress, when set, is called from Render's goroutine as media time
	// is rendered (done of total).
	Progress func(done, total time.Duration)
	Log      *slog.Logger
}

// maxSize bounds the output picture.
const maxSize = 7680

func (s *Spec) check() error {
	if len(s.Tracks) == 0 {
		return ErrNoTracks
	}
	if err := s.checkParams(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Dir(s.Out)); err != nil {
		return fmt.Errorf("%w: output directory: %w", ErrSpec, err)
	}
	for i, t := range s.Tracks {
		if t.Kind != media.Audio && t.Kind != media.Video {
			return fmt.Errorf("%w: track %d (%s): kind %q", ErrTrack, i, t.Path, t.Kind)
		}
		if _, err := os.Stat(t.Path); err != nil {
			return fmt.Errorf("%w: track %d: %w", ErrTrack, i, err)
		}
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	return nil
}

// checkParams checks and defaults the layout, size, rate and range.
func (s *Spec) checkParams() error {
	if err := validateLayout(s.Layout); err != nil {
		return err
	}
	if s.Width == 0 && s.Height == 0 {
		s.Width, s.Height = DefaultWidth, DefaultHeight
	}
	if s.FPS == 0 {
		s.FPS = DefaultFPS
	}
	switch {
	case s.Width < 16 || s.Height < 16 || s.Width > maxSize || s.Height > maxSize || s.Width%2 != 0 || s.Height%2 != 0:
		return fmt.Errorf("%w: size %dx%d (even, 16..%d)", ErrSpec, s.Width, s.Height, maxSize)
	case s.FPS < 1 || s.FPS > 120:
		return fmt.Errorf("%w: fps %d (1..120)", ErrSpec, s.FPS)
	case s.From < 0 || s.To < 0:
		return fmt.Errorf("%w: negative time %s..%s", ErrRange, s.From, s.To)
	case s.To != 0 && s.To <= s.From:
		return fmt.Errorf("%w: range %s..%s is empty", ErrRange, s.From, s.To)
	case s.Out == "":
		return fmt.Errorf("%w: no output path", ErrSpec)
	}
	return nil
}
