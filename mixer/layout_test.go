package mixer

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func TestLayoutValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout Layout
		want   string // substring of the error; "" for valid
	}{
		{"grid", Layout{Kind: LayoutGrid}, ""},
		{"grid crop", Layout{Kind: LayoutGrid, Fit: FitCrop}, ""},
		{"custom", Layout{Kind: LayoutCustom, Regions: []Region{{0, 0, 0.5, 0.5}, {0.5, 0.5, 0.5, 0.5}}}, ""},
		{"empty kind", Layout{}, "kind is empty"},
		{"speaker", Layout{Kind: LayoutSpeaker}, ""},
		{"presentation", Layout{Kind: LayoutPresentation, Fit: FitLetterbox}, ""},
		{"speaker with regions", Layout{Kind: LayoutSpeaker, Regions: []Region{{0, 0, 1, 1}}}, "speaker layout takes no regions"},
		{"unknown kind", Layout{Kind: "mosaic"}, `unknown kind "mosaic" (want "grid", "custom", "speaker" or "presentation")`},
		{"bad fit", Layout{Kind: LayoutGrid, Fit: "stretch"}, `fit "stretch"`},
		{"grid with regions", Layout{Kind: LayoutGrid, Regions: []Region{{0, 0, 1, 1}}}, "grid layout takes no regions"},
		{"custom without regions", Layout{Kind: LayoutCustom}, "at least one region"},
		{"zero size", Layout{Kind: LayoutCustom, Regions: []Region{{0, 0, 1, 1}, {0.1, 0.1, 0, 0.2}}}, "region 1: size 0x0.2 must be positive"},
		{"negative", Layout{Kind: LayoutCustom, Regions: []Region{{-0.1, 0, 0.5, 0.5}}}, "region 0: position (-0.1,0) must not be negative"},
		{"outside", Layout{Kind: LayoutCustom, Regions: []Region{{0.6, 0, 0.5, 0.5}}}, "region 0: (0.6,0 0.5x0.5) extends past the picture"},
		{"pixels not fractions", Layout{Kind: LayoutCustom, Regions: []Region{{0, 0, 640, 360}}}, "extends past the picture"},
		{"NaN", Layout{Kind: LayoutCustom, Regions: []Region{{math.NaN(), 0, 0.5, 0.5}}}, "finite"},
		{"too many", Layout{Kind: LayoutCustom, Regions: make([]Region, maxRegions+1)}, "65 regions (at most 64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.layout.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalidLayout mentioning %q", err, tc.want)
			}
		})
	}
}

func TestGridTiles(t *testing.T) {
	for _, tc := range []struct {
		n          int
		cols, rows int
	}{{1, 1, 1}, {2, 2, 1}, {3, 2, 2}, {4, 2, 2}, {5, 3, 2}, {9, 3, 3}, {10, 4, 3}, {16, 4, 4}} {
		tiles := Layout{Kind: LayoutSpeaker}.tiles(tc.n, -1, 1280, 720) // no speaker yet: a grid
		if len(tiles) != tc.n {
			t.Fatalf("n=%d: %d tiles", tc.n, len(tiles))
		}
		w, h := 1280/tc.cols, 720/tc.rows
		for i, r := range tiles {
			if abs(r.W-w) > 2 || abs(r.H-h) > 2 || r.X < 0 || r.Y < 0 || r.X+r.W > 1280 || r.Y+r.H > 720 {
				t.Fatalf("n=%d tile %d = %+v, want about %dx%d inside the picture", tc.n, i, r, w, h)
			}
			for j := range i {
				o := tiles[j]
				if r.X < o.X+o.W && o.X < r.X+r.W && r.Y < o.Y+o.H && o.Y < r.Y+r.H {
					t.Fatalf("n=%d: tiles %d and %d overlap", tc.n, j, i)
				}
			}
		}
	}
	if got := gridTiles(1, 1280, 720)[0]; got != (Rect{0, 0, 1280, 720}) {
		t.Fatalf("one tile = %+v, want the whole picture", got)
	}
}

func abs(v int) int { return max(v, -v) }

// TestSetLayoutLive moves a participant into a custom region while playing,
// then crops it to fill a tall region.
func TestSetLayoutLive(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1500})
	if err := m.SetLayout(Layout{Kind: "gallery"}); !errors.Is(err, ErrInvalidLayout) {
		t.Fatalf("SetLayout(gallery) = %v, want ErrInvalidLayout", err)
	}
	rec := startRecording(t, m)
	f := startFeed(t, m, filepath.Join(clips, "p2.webm"), feedOptions{Participant: "p2", NoAudio: true, Duration: 5 * time.Second})
	time.Sleep(1500 * time.Millisecond)
	if err := m.SetLayout(Layout{Kind: LayoutCustom, Regions: []Region{{X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}}); err != nil {
		t.Fatalf("SetLayout custom: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := m.SetLayout(Layout{Kind: LayoutCustom, Fit: FitCrop, Regions: []Region{{X: 0, Y: 0, W: 0.25, H: 1}}}); err != nil {
		t.Fatalf("SetLayout crop: %v", err)
	}
	f.wait(20 * time.Second)
	path := rec.write(t, t.TempDir())
	frames := mediatest.Frames(t, path, w, h, 10)
	count := func(from, to float64, region image.Rectangle) (lit, all int) {
		for i := int(from * 10); i < int(to*10) && i < len(frames); i++ {
			all++
			if !mediatest.IsBlack(frames[i], w, region) {
				lit++
			}
		}
		return lit, all
	}
	topLeft := image.Rect(20, 20, w/2-20, h/2-20)
	bottomRight := image.Rect(w/2+20, h/2+20, w-20, h-20)
	leftStrip := image.Rect(4, 20, w/4-4, 100) // black if letterboxed (picture at y 135..225)
	middle := image.Rect(w/4+20, 20, w-20, h-20)
	if lit, all := count(0.6, 1.3, topLeft); lit*2 < all {
		t.Fatalf("grid: top-left lit in %d of %d frames", lit, all)
	}
	if lit, all := count(2.1, 2.8, topLeft); lit*2 > all {
		t.Fatalf("custom: top-left lit in %d of %d frames, want black", lit, all)
	}
	if lit, all := count(2.1, 2.8, bottomRight); lit*2 < all {
		t.Fatalf("custom: bottom-right lit in %d of %d frames", lit, all)
	}
	if lit, all := count(3.6, 4.5, leftStrip); lit*2 < all {
		t.Fatalf("crop: left strip lit in %d of %d frames, want filled", lit, all)
	}
	if lit, all := count(3.6, 4.5, middle); lit*2 > all {
		t.Fatalf("crop: rest of the picture lit in %d of %d frames, want black", lit, all)
	}
}

// TestNameInTile: a black participant named "ALICE" shows white letters at
// the bottom left of its tile, and nothing elsewhere.
func TestNameInTile(t *testing.T) {
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1000})
	rec := startRecording(t, m)
	f := startFeed(t, m, "", feedOptions{Participant: "alice", Name: "ALICE", Pattern: "black", Duration: 2 * time.Second})
	f.wait(20 * time.Second)
	path := rec.write(t, t.TempDir())
	frames := mediatest.Frames(t, path, w, h, 5)
	if len(frames) < 5 {
		t.Fatalf("%d frames", len(frames))
	}
	fr := frames[len(frames)/2]
	bright := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if cr, cg, cb := mediatest.Pixel(fr, w, x, y); int(cr)+int(cg)+int(cb) > 500 {
					n++
				}
			}
		}
		return n
	}
	label := image.Rect(0, h-60, w/3, h)
	if n := bright(label); n < 50 {
		t.Fatalf("%d bright pixels where the name should be", n)
	}
	if n := bright(image.Rect(0, 0, w, h-60)); n > 0 {
		t.Fatalf("%d bright pixels away from the name", n)
	}
}

func TestFocusTiles(t *testing.T) {
	for n := 2; n <= 7; n++ {
		for focus := range n {
			tiles := Layout{Kind: LayoutPresentation}.tiles(n, focus, 1280, 720)
			if tiles[focus] != (Rect{0, 0, 960, 720}) {
				t.Fatalf("n=%d focus=%d: main tile %+v, want the left three quarters", n, focus, tiles[focus])
			}
			for i, r := range tiles {
				if i == focus {
					continue
				}
				if r.X != 960 || r.W != 320 || r.H < 100 || r.Y < 0 || r.Y+r.H > 720 {
					t.Fatalf("n=%d focus=%d: tile %d = %+v, want in the right column", n, focus, i, r)
				}
			}
		}
	}
}

// focusRoom: a camera that talks (p1 clip, with its tone), a silent black
// camera that joined first, and optionally a white screen share.
func focusRoom(t *testing.T, layout Layout, screen bool) (frames [][]byte, w, h int) {
	clips := testenv.Inputs(t)
	w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1000, Layout: layout})
	rec := startRecording(t, m)
	silent := startFeed(t, m, "", feedOptions{Participant: "silent", Name: " ", Pattern: "black", Duration: 4 * time.Second})
	talker := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "talker", Duration: 4 * time.Second})
	feeds := []*feed{silent, talker}
	if screen {
		feeds = append(feeds, startFeed(t, m, "", feedOptions{Participant: "silent", Name: " ", Pattern: "white", Screen: true, Duration: 4 * time.Second}))
	}
	for _, f := range feeds {
		f.wait(30 * time.Second)
	}
	return mediatest.Frames(t, rec.write(t, t.TempDir()), w, h, 10), w, h
}

func TestSpeakerLayout(t *testing.T) {
	frames, w, h := focusRoom(t, Layout{Kind: LayoutSpeaker}, false)
	main := image.Rect(20, 60, w/2-20, h-60) // in a grid: the silent black camera
	lit := 0
	for _, fr := range frames[25:35] {
		if !mediatest.IsBlack(fr, w, main) {
			lit++
		}
	}
	if lit < 8 {
		t.Fatalf("main tile shows the talker in %d of 10 frames (2.5-3.5 s), want the talker there", lit)
	}
}

func TestPresentationLayout(t *testing.T) {
	frames, w, h := focusRoom(t, Layout{Kind: LayoutPresentation}, true)
	main := image.Rect(20, 60, w/2-20, h-60) // in a grid: the silent black camera
	white := 0
	for _, fr := range frames[25:35] {
		if r, g, b := mediatest.MeanRGB(fr, w, main); r > 200 && g > 200 && b > 200 {
			white++
		}
	}
	if white < 8 {
		t.Fatalf("main tile shows the screen share in %d of 10 frames, want it there", white)
	}
}
