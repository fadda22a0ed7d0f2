package recorder

import "time"

// timeline rebases the mixer's running times so the recording starts at 0 at
// its first keyframe, and drops what cannot be muxed: video before that
// keyframe, audio before it, and samples going back in time.
type timeline struct {
	started   bool
	base      time.Duration
	lastVideo time.Duration // last video DTS (rebased)
	lastAudio time.Duration // last audio PTS (rebased)
	seenAudio bool
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
