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
	end    time.Duration // where it ends in the recording
	offset time.Duration // recording time = file running time + offset
	shift  time.Duration // the file's first segment: stream time - running time
	video  int           // index among the video tracks (tiles), -1 for audio
}

// layoutStep is the tiles of every video track (by index) from at on, in
// output time. A zero-size tile is hidden.
type layoutStep struct {
	at    time.Duration
	tiles []rect
}

// planned is what Render renders: the tracks that overlap the range, the
// output's duration and the layout over time (at least one step, at 0).
type planned struct {
	tracks []placedTrack
	total  time.Duration
	steps  []layoutStep
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
		out[i] = placedTrack{TrackFile: t, start: start, end: start + ext.length(), offset: start - ext.first, shift: ext.shift, video: -1}
		length = max(length, start+ext.length())
	}
	return out, length, nil
}

// plan places the tracks, checks the range, gives video tracks their
// tiles (over time, for the speaker layout) and leaves out the tracks that
// lie wholly outside the range.
func plan(ctx context.Context, s *Spec) (*planned, error) {
	tracks, length, err := place(ctx, s.Tracks)
	if err != nil {
		return nil, err
	}
	to := s.To
	if to == 0 {
		to = length
	}
	if s.From >= length || to > length+rangeSlack {
		return nil, fmt.Errorf("%w: %s..%s asked, the recording lasts %s", ErrRange, s.From, to, length.Round(time.Millisecond))
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
	for k, i := range video {
		tracks[i].video = k
	}
	steps := []layoutStep{{tiles: s.Layout.Tiles(len(video), presentationFocus(s.Layout, tracks, video), s.Width, s.Height)}}
	if s.Layout.Kind == mixer.LayoutSpeaker && len(video) > 1 {
		if steps, err = speakerSteps(ctx, s, tracks, video, to); err != nil {
			return nil, err
		}
	}
	var keep []placedTrack
	for _, t := range tracks {
		if t.end > s.From && t.start < to {
			keep = append(keep, t)
		}
	}
	return &planned{tracks: keep, total: to - s.From, steps: steps}, nil
}

// presentationFocus is the tile index of the first screen share in a
// presentation layout, -1 otherwise.
func presentationFocus(l mixer.Layout, tracks []placedTrack, video []int) int {
	if l.Kind != mixer.LayoutPresentation {
		return -1
	}
	for k, i := range video {
		if strings.Contains(strings.ToLower(tracks[i].Name), "screen") {
			return k
		}
	}
	return -1
}
