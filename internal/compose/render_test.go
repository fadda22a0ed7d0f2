package compose

import (
	"context"
	"errors"
	"image"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/mixer"
)

var (
	fixtureOnce  sync.Once
	fixtureFiles []TrackFile
)

// twoParticipants: a joins first; b joins 1.4 s later and its audio
// arrives 300 ms behind its video (only its sender reports say so).
func twoParticipants(t *testing.T) []TrackFile {
	fixtureOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			t.Fatal(err)
		}
		fixtureFiles = fixtureTracks(t, dir,
			participant{name: "a", clip: "p1.webm"},
			participant{name: "b", clip: "p2.webm", delay: 1400 * time.Millisecond, audioLag: 300 * time.Millisecond})
	})
	if fixtureFiles == nil {
		t.Fatal("no fixture")
	}
	return fixtureFiles
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestRenderTwoParticipantsInSync(t *testing.T) {
	tracks := twoParticipants(t)
	out := filepath.Join(t.TempDir(), "grid.mp4")
	var mu sync.Mutex
	var last, total time.Duration
	calls := 0
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Render(ctx, Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutGrid}, Width: 640, Height: 360, Out: out,
		Progress: func(done, tot time.Duration) { mu.Lock(); last, total = done, tot; calls++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	info := mediatest.Probe(t, out)
	v, a := info.Video(), info.Audio()
	if v == nil || a == nil || v.CodecName != "h264" || a.CodecName != "aac" || v.Width != 640 || v.Height != 360 {
		t.Fatalf("streams %+v", info.Streams)
	}
	// b's 10 s end 1.4 s after a's.
	if math.Abs(info.Duration-11.4) > 0.2 {
		t.Errorf("duration %.3f s, want 11.4", info.Duration)
	}
	if calls == 0 || last != total || math.Abs(total.Seconds()-11.4) > 0.2 {
		t.Errorf("progress: %d calls, last %s of %s", calls, last, total)
	}
	// Grid of two: side by side, each 320x360 with a letterboxed 320x180
	// picture; a's flashes from 0 s, b's from 1.4 s.
	regions := map[string]image.Rectangle{"a": image.Rect(60, 120, 260, 240), "b": image.Rect(380, 120, 580, 240)}
	for name, first := range map[string]float64{"a": 0, "b": 1.4} {
		flashes := mediatest.FlashTimes(t, out, regions[name])
		if len(flashes) < 9 || len(flashes) > 11 || math.Abs(flashes[0]-first) > 0.05 {
			t.Errorf("%s: flashes at %v, want 10 a second apart from %.1f s", name, flashes, first)
		}
	}
	// Each participant in sync: the beep detector merges onsets less than
	// 0.5 s apart, so a's sound is measured in this file and b's in one
	// without a's microphone (b's audio arrived 300 ms after its video).
	checkSync(t, out, regions["a"], "a")
	alone := filepath.Join(t.TempDir(), "b.mp4")
	if err := Render(ctx, Spec{Tracks: []TrackFile{tracks[0], tracks[2], tracks[3]}, Layout: mixer.Layout{Kind: mixer.LayoutGrid},
		Width: 640, Height: 360, Out: alone}); err != nil {
		t.Fatal(err)
	}
	checkSync(t, alone, regions["b"], "b")
}

func checkSync(t *testing.T, path string, region image.Rectangle, name string) {
	t.Helper()
	flashes, beeps := mediatest.FlashTimes(t, path, region), mediatest.BeepTimes(t, path)
	offs := mediatest.AVOffsets(flashes, beeps)
	if len(flashes) < 9 || len(offs) < len(flashes)-1 {
		t.Errorf("%s: flashes %v, beeps %v", name, flashes, beeps)
		return
	}
	if m := median(offs); math.Abs(m) > 0.020 {
		t.Errorf("%s: median A/V offset %.0f ms (offsets %v), want within ±20 ms", name, m*1000, offs)
	}
	t.Logf("%s: flashes %v, A/V offsets %v", name, flashes, offs)
}

func TestRenderRange(t *testing.T) {
	tracks := twoParticipants(t)
	out := filepath.Join(t.TempDir(), "cut.mp4")
	err := Render(context.Background(), Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutCustom,
		Regions: []mixer.Region{{X: 0, Y: 0, W: 0.5, H: 0.5}, {X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}},
		Width: 640, Height: 360, From: 2 * time.Second, To: 4 * time.Second, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	info := mediatest.Probe(t, out)
	if math.Abs(info.Duration-2) > 0.15 {
		t.Errorf("duration %.3f s, want 2", info.Duration)
	}
	// a at top left flashes at 2 and 3 s of the recording, b bottom right at 2.4 and 3.4.
	fa := mediatest.FlashTimes(t, out, image.Rect(40, 40, 280, 140))
	fb := mediatest.FlashTimes(t, out, image.Rect(360, 220, 600, 320))
	if len(fa) != 2 || math.Abs(fa[0]) > 0.1 || len(fb) != 2 || math.Abs(fb[0]-0.4) > 0.1 {
		t.Errorf("flashes a %v (want 0, 1), b %v (want 0.4, 1.4)", fa, fb)
	}
}

func TestRenderBadInput(t *testing.T) {
	tracks := twoParticipants(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.mp4")
	grid := mixer.Layout{Kind: mixer.LayoutGrid}
	missing := append([]TrackFile(nil), tracks...)
	missing[0].Path = filepath.Join(dir, "gone.mkv")
	cases := []struct {
		name string
		spec Spec
		want error
	}{
		{"no tracks", Spec{Layout: grid, Out: out}, ErrNoTracks},
		{"unknown layout", Spec{Tracks: tracks, Layout: mixer.Layout{Kind: "mosaic"}, Out: out}, ErrLayout},
		{"empty layout", Spec{Tracks: tracks, Out: out}, ErrLayout},
		{"from past the end", Spec{Tracks: tracks, Layout: grid, From: 30 * time.Second, Out: out}, ErrRange},
		{"to past the end", Spec{Tracks: tracks, Layout: grid, To: 30 * time.Second, Out: out}, ErrRange},
		{"empty range", Spec{Tracks: tracks, Layout: grid, From: 3 * time.Second, To: 2 * time.Second, Out: out}, ErrRange},
		{"negative from", Spec{Tracks: tracks, Layout: grid, From: -time.Second, Out: out}, ErrRange},
		{"odd size", Spec{Tracks: tracks, Layout: grid, Width: 641, Height: 360, Out: out}, ErrSpec},
		{"no output", Spec{Tracks: tracks, Layout: grid}, ErrSpec},
		{"missing file", Spec{Tracks: missing, Layout: grid, Out: out}, ErrTrack},
		{"not media", Spec{Tracks: []TrackFile{{Participant: "x", Kind: "video", Path: "render_test.go"}}, Layout: grid, Out: out}, ErrTrack},
	}
	for _, c := range cases {
		if err := Render(context.Background(), c.spec); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := filepath.Glob(out + "*"); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.mp4*")); len(m) != 0 {
		t.Errorf("files left behind: %v", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Render(ctx, Spec{Tracks: tracks, Layout: grid, Out: out}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestRenderFromSeeks: a range near the end starts each track at the
// keyframe before it instead of decoding everything before it, and has
// the right duration and pictures.
func TestRenderFromSeeks(t *testing.T) {
	tracks := twoParticipants(t)
	out := filepath.Join(t.TempDir(), "end.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := render(ctx, Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutGrid}, Width: 640, Height: 360,
		From: 8 * time.Second, To: 10 * time.Second, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	info := mediatest.Probe(t, out)
	if math.Abs(info.Duration-2) > 0.15 {
		t.Errorf("duration %.3f s, want 2", info.Duration)
	}
	// a flashes at 8 and 9 s of the recording, b at 8.4 and 9.4.
	fa := mediatest.FlashTimes(t, out, image.Rect(60, 120, 260, 240))
	fb := mediatest.FlashTimes(t, out, image.Rect(380, 120, 580, 240))
	if len(fa) != 2 || math.Abs(fa[0]) > 0.05 || len(fb) != 2 || math.Abs(fb[0]-0.4) > 0.05 {
		t.Errorf("flashes a %v (want 0, 1), b %v (want 0.4, 1.4)", fa, fb)
	}
	// In sync: the beep at the range's very start is cut short; the next
	// one is whole.
	if offs := mediatest.AVOffsets(fa[1:], mediatest.BeepTimes(t, out)); len(offs) != 1 || math.Abs(offs[0]) > 0.020 {
		t.Errorf("a: A/V offsets %v after the first second, want one within ±20 ms", offs)
	}
	// Decoding from 0 would be 8 s of a and 6.6 s of b before the range
	// (about 440 frames) and 2 s of each in it; from the keyframes before
	// (2 s apart) it is at most 4 s of each.
	if n := g.decoded.Load(); n < 2*2*30 || n > 2*4*30+10 {
		t.Errorf("%d video frames decoded, want 120..250 (from 0: about 560)", n)
	}
	t.Logf("%d video frames decoded", g.decoded.Load())
}
