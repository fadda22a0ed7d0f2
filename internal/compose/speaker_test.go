package compose

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// talking builds a participant's speech from on/off stretches in seconds.
func talking(lo time.Duration, stretches ...[2]float64) speech {
	sp := speech{origin: lo}
	for _, st := range stretches {
		for t := time.Duration(st[0] * float64(time.Second)); t < time.Duration(st[1]*float64(time.Second)); t += speechWindow {
			i := int((t - lo) / speechWindow)
			for len(sp.on) <= i {
				sp.on = append(sp.on, false)
			}
			sp.on[i] = true
		}
	}
	return sp
}

func TestFocusTimeline(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	// A clean handover: a speaks 0..5 s, b 5..10 s; b gets the tile from
	// where its speech began, a has it from the start.
	got := focusTimeline(map[string]speech{"a": talking(0, [2]float64{0.3, 5}), "b": talking(0, [2]float64{5, 10})}, 0, sec(10))
	if len(got) != 2 || got[0] != (focusChange{0, "a"}) || got[1].who != "b" || got[1].at != sec(5) {
		t.Errorf("handover: %+v, want a from 0, b from 5 s", got)
	}
	// Cross-talk every 400 ms: the tile changes hands no faster than
	// speakerHold allows.
	var a, b [][2]float64
	for s := 0.0; s < 20; s += 0.8 {
		a = append(a, [2]float64{s, s + 0.4})
		b = append(b, [2]float64{s + 0.4, s + 0.8})
	}
	got = focusTimeline(map[string]speech{"a": talking(0, a...), "b": talking(0, b...)}, 0, sec(20))
	for i := 1; i < len(got); i++ {
		if got[i].at-got[i-1].at < speakerHold {
			t.Errorf("changes %s apart (%+v), want at least %s", got[i].at-got[i-1].at, got, speakerHold)
		}
	}
	// A cough (150 ms) does not take the tile; silence keeps it.
	got = focusTimeline(map[string]speech{"a": talking(0, [2]float64{0, 3}), "b": talking(0, [2]float64{4, 4.15})}, 0, sec(8))
	if len(got) != 1 || got[0].who != "a" {
		t.Errorf("cough: %+v, want a throughout", got)
	}
	if got := focusTimeline(map[string]speech{"a": {}, "b": {}}, 0, sec(5)); got != nil {
		t.Errorf("silence: %+v, want no speaker", got)
	}
}

// TestRenderSpeakerLayout: a speaks (its microphone is on) in the first
// half, b in the second; the main tile shows a, then b, which is told by
// their flashes: a's on whole seconds, b's (it joined 0.5 s later) on half
// seconds.
func TestRenderSpeakerLayout(t *testing.T) {
	dir, err := mkdirTemp()
	if err != nil {
		t.Fatal(err)
	}
	tracks := fixtureTracks(t, filepath.Join(dir, "speaker"),
		participant{name: "a", clip: "p1.webm", micTo: 5 * time.Second},
		participant{name: "b", clip: "p2.webm", delay: 500 * time.Millisecond, micFrom: 4500 * time.Millisecond})
	out := filepath.Join(t.TempDir(), "speaker.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := render(ctx, Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutSpeaker}, Width: 640, Height: 360, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.steps) != 2 {
		t.Fatalf("layout steps %+v, want a's then b's", g.steps)
	}
	// Speaker layout of two at 640x360: the main tile is the left 480x360
	// (a 480x270 picture, letterboxed), the other a 160x90 tile at (480,136).
	main, strip := image.Rect(60, 80, 420, 280), image.Rect(500, 150, 620, 210)
	whole := func(v float64) bool { return math.Abs(v-math.Round(v)) < 0.1 }
	half := func(v float64) bool { return math.Abs(v-math.Floor(v)-0.5) < 0.1 }
	check := func(region string, r image.Rectangle, first, second func(float64) bool) {
		flashes := mediatest.FlashTimes(t, out, r)
		var n1, n2 int
		for _, f := range flashes {
			switch {
			case f < 4.7 && first(f):
				n1++
			case f > 5.2 && second(f):
				n2++
			case f >= 4.7 && f <= 5.2:
			default:
				t.Errorf("%s: flash at %.2f s from the wrong participant (flashes %v)", region, f, flashes)
			}
		}
		if n1 < 4 || n2 < 4 {
			t.Errorf("%s: flashes %v: %d in the first half, %d in the second, want 4 or more each", region, flashes, n1, n2)
		}
		t.Logf("%s: flashes %v", region, flashes)
	}
	check("main tile", main, whole, half)
	check("strip", strip, half, whole)
}
