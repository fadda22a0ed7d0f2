package compose

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// The speaker layout after the call: the main tile follows who speaks,
// from the audio tracks' loudness (the speech detection of the speaker
// timeline, 50 ms windows), with hysteresis so it does not flicker.
const (
	// speakerWindow is how much recent speech a participant is judged by.
	speakerWindow = time.Second
	// speakerClaim is the share of speakerWindow a participant must have
	// spoken to take the main tile, and more than whoever has it.
	speakerClaim = 0.4
	// speakerHold is how long the main tile stays with a participant at
	// least (the live mixer holds its choice 1.5 s too).
	speakerHold = 1500 * time.Millisecond
	// speakerLookback is how much before the range's start is listened to,
	// so the range starts with whoever was speaking then.
	speakerLookback = 5 * time.Second
)

// focusChange: from at (recording time) on, who has the main tile.
type focusChange struct {
	at  time.Duration
	who string
}

// speech is one participant's speech on the recording's timeline: one
// entry per speechWindow from its origin.
type speech struct {
	origin time.Duration
	on     []bool
}

func (s speech) at(t time.Duration) bool {
	i := int((t - s.origin) / speechWindow)
	return i >= 0 && i < len(s.on) && s.on[i]
}

// focusTimeline decides who has the main tile over lo..hi. Offline it can
// look back: a participant who takes over gets the tile from where their
// speech began (but not before the previous holder's speakerHold ran out),
// and the first speaker has it from the start. Nobody speaking: nil.
func focusTimeline(talk map[string]speech, lo, hi time.Duration) []focusChange {
	names := make([]string, 0, len(talk))
	for n := range talk {
		names = append(names, n)
	}
	sort.Strings(names)
	win := int(speakerWindow / speechWindow)
	need := int(speakerClaim*float64(win) + 0.5)
	// act[n] counts the speech windows of n among the last win ones.
	act := map[string]int{}
	var out []focusChange
	cur := ""
	var since time.Duration
	for i := 0; lo+time.Duration(i)*speechWindow < hi; i++ {
		t := lo + time.Duration(i)*speechWindow
		for _, n := range names {
			if talk[n].at(t) {
				act[n]++
			}
			if i >= win && talk[n].at(t-time.Duration(win)*speechWindow) {
				act[n]--
			}
		}
		best := cur
		for _, n := range names {
			if act[n] > act[best] || best == "" && act[n] > 0 {
				best = n
			}
		}
		if best == cur || act[best] < need || (cur != "" && t-since < speakerHold) {
			continue
		}
		// Back to where best's speech in the window began.
		onset := t
		for j := win - 1; j >= 0; j-- {
			if u := t - time.Duration(j)*speechWindow; u >= lo && talk[best].at(u) {
				onset = u
				break
			}
		}
		if cur == "" {
			onset = lo
		} else {
			onset = max(onset, since+speakerHold)
		}
		cur, since = best, onset
		out = append(out, focusChange{at: onset, who: best})
	}
	return out
}

// speakerSteps listens to the audio tracks around the range and turns who
// spoke when into layout steps; a participant without a camera never
// takes the main tile.
func speakerSteps(ctx context.Context, s *Spec, tracks []placedTrack, video []int, to time.Duration) ([]layoutStep, error) {
	lo := max(0, s.From-speakerLookback)
	focusOf := map[string]int{} // participant → their camera's tile index
	for k, i := range video {
		t := tracks[i]
		if f, ok := focusOf[t.Participant]; !ok || strings.Contains(strings.ToLower(tracks[video[f]].Name), "screen") {
			focusOf[t.Participant] = k
		}
	}
	talk := map[string]speech{}
	for _, t := range tracks {
		if t.Kind != media.Audio || t.end <= lo || t.start >= to {
			continue
		}
		if _, ok := focusOf[t.Participant]; !ok {
			continue
		}
		levels, err := loudness(ctx, t.Path, speechWindow, max(0, lo-t.offset+t.shift))
		if err != nil {
			return nil, err
		}
		sp := talk[t.Participant]
		for _, l := range levels {
			if l.dbfs < speechDBFS {
				continue
			}
			at := l.at - t.shift + t.offset // pts → recording time
			if sp.on == nil {
				sp.origin = lo
			}
			i := int((at - sp.origin) / speechWindow)
			if i < 0 {
				continue
			}
			for len(sp.on) <= i {
				sp.on = append(sp.on, false)
			}
			sp.on[i] = true
		}
		talk[t.Participant] = sp
	}
	changes := focusTimeline(talk, lo, to)
	grid := layoutStep{tiles: s.Layout.Tiles(len(video), -1, s.Width, s.Height)}
	steps := []layoutStep{grid}
	for _, c := range changes {
		st := layoutStep{at: max(0, c.at-s.From), tiles: s.Layout.Tiles(len(video), focusOf[c.who], s.Width, s.Height)}
		if st.at == 0 {
			steps[0] = st // whoever speaks at the range's start (or first) has the main tile from the start
			continue
		}
		steps = append(steps, st)
	}
	return dedupSteps(steps), nil
}

// dedupSteps drops steps that change nothing.
func dedupSteps(steps []layoutStep) []layoutStep {
	out := steps[:1]
	for _, st := range steps[1:] {
		if !sameTiles(out[len(out)-1].tiles, st.tiles) {
			out = append(out, st)
		}
	}
	return out
}

func sameTiles(a, b []rect) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
