package compose

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// rangeSlack is how far past the recording's end To may reach before it is
// an error (the tracks' and the composite's ends differ by buffering); it is
// clamped to the end.
const rangeSlack = time.Second

// placedTrack is a track file placed on the output timeline.
type placedTrack struct {
	TrackFile
	start  time.Duration // where the track begins in the recording
	offset time.Duration // output running time = file running time + offset
	tile   rect          // video only; zero size: hidden
}

// Length measures the recording that the tracks make together: from the
// first track's first packet to the end of the last one.
func Length(ctx context.Context, tracks []TrackFile) (time.Duration, error) {
	if len(tracks) == 0 {
		return 0, ErrNoTracks
	}
	_, length, err := place(ctx, tracks)
	return length, err
}

// place puts the tracks on the recording's timeline.
func place(ctx context.Context, tracks []TrackFile) ([]placedTrack, time.Duration, error) {
	walls := wallStarts(tracks)
	var origin time.Time
	for _, w := range walls {
		if !w.IsZero() && (origin.IsZero() || w.Before(origin)) {
			origin = w
		}
	}
	out := make([]placedTrack, len(tracks))
	var length time.Duration
	for i, t := range tracks {
		ext, err := scan(ctx, t.Path)
		if err != nil {
			return nil, 0, err
		}
		start := time.Duration(0)
		if !walls[i].IsZero() {
			start = walls[i].Sub(origin)
		}
		out[i] = placedTrack{TrackFile: t, start: start, offset: start - ext.first}
		length = max(length, start+ext.length())
	}
	return out, length, nil
}

// plan places the tracks, checks the range and gives video tracks their
// tiles; it returns the tracks to render and the output's duration.
func plan(ctx context.Context, s *Spec) ([]placedTrack, time.Duration, error) {
	tracks, length, err := place(ctx, s.Tracks)
	if err != nil {
		return nil, 0, err
	}
	to := s.To
	if to == 0 {
		to = length
	}
	if s.From >= length || to > length+rangeSlack {
		return nil, 0, fmt.Errorf("%w: %s..%s asked, the recording lasts %s", ErrRange, s.From, to, length.Round(time.Millisecond))
	}
	to = min(to, length)
	// Video tiles in the order the tracks joined.
	var video []int
	for i, t := range tracks {
		if t.Kind == media.Video {
			video = append(video, i)
		}
	}
	sort.SliceStable(video, func(a, b int) bool {
		ta, tb := tracks[video[a]], tracks[video[b]]
		if ta.start != tb.start {
			return ta.start < tb.start
		}
		return ta.Participant+"/"+ta.Name < tb.Participant+"/"+tb.Name
	})
	focus := -1
	if s.Layout.Kind == mixer.LayoutPresentation {
		for k, i := range video {
			if strings.Contains(strings.ToLower(tracks[i].Name), "screen") {
				focus = k
				break
			}
		}
	}
	rects := s.Layout.Tiles(len(video), focus, s.Width, s.Height)
	for k, i := range video {
		tracks[i].tile = rects[k]
	}
	return tracks, to - s.From, nil
}
