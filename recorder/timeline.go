package recorder

import (
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// timeline rebases the mixer's running times so the recording starts at 0 at
// its first keyframe, and drops what cannot be muxed: video before that
// keyframe, audio before it, and samples going back in time.
//
// A fragmented MP4 starts every track at 0 whatever its first timestamp, so
// the first audio frame must start as close to the keyframe as frames
// allow: the one nearest to it (at most half a frame, 10.7 ms for AAC, off).
// The encoded audio comes out of the mixer ahead of the video that goes
// with it (the video encoder takes longer), so audio is held from before
// the first keyframe until it arrives.
type timeline struct {
	started   bool
	base      time.Duration
	lastVideo time.Duration // last video DTS (rebased)
	lastAudio time.Duration // last audio PTS (rebased)
	seenAudio bool
	early     []media.Sample // audio before the first keyframe, oldest first
}

// earlyAudio is how much audio is held waiting for the first keyframe.
const earlyAudio = 2 * time.Second

// hold keeps an audio sample that came before the first keyframe.
func (t *timeline) hold(s media.Sample) {
	t.early = append(t.early, s)
	for len(t.early) > 1 && t.early[len(t.early)-1].PTS-t.early[0].PTS > earlyAudio {
		t.early = t.early[1:]
	}
}

// held returns the held audio that belongs to the recording once it has
// started, with rebased times: the first is the frame nearest to the start,
// moved to 0.
func (t *timeline) held() []media.Sample {
	early := t.early
	t.early = nil
	var out []media.Sample
	for _, s := range early {
		r := s.PTS - t.base
		if len(out) == 0 {
			half := s.Duration / 2
			if r < -half || (r < 0 && s.Duration <= 0) {
				continue
			}
			r = 0
		} else if r <= out[len(out)-1].PTS {
			continue
		}
		s.PTS = r
		out = append(out, s)
	}
	if len(out) > 0 {
		t.seenAudio, t.lastAudio = true, out[len(out)-1].PTS
	}
	return out
}

// video returns the rebased PTS and DTS of a video sample, or ok=false to drop it.
func (t *timeline) video(pts, dts time.Duration, keyframe bool) (rpts, rdts time.Duration, ok bool) {
	if !t.started {
		if !keyframe {
			return 0, 0, false
		}
		t.started, t.base = true, pts
		t.lastVideo = -1
	}
	rpts = pts - t.base
	if rpts < 0 {
		return 0, 0, false
	}
	rdts = dts - t.base
	if rdts < 0 || rdts > rpts {
		// Unknown or impossible DTS: without B-frames DTS equals PTS.
		rdts = rpts
	}
	if rdts <= t.lastVideo {
		return 0, 0, false
	}
	t.lastVideo = rdts
	return rpts, rdts, true
}

// audio returns the rebased PTS of an audio sample, or ok=false to drop it.
func (t *timeline) audio(pts time.Duration) (time.Duration, bool) {
	if !t.started {
		return 0, false
	}
	r := pts - t.base
	if r < 0 || (t.seenAudio && r <= t.lastAudio) {
		return 0, false
	}
	t.seenAudio, t.lastAudio = true, r
	return r, true
}
