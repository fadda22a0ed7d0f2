package mixer

import (
	"image"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestLipSyncUnderJitter: every packet of both tracks arrives after a
// random 0..100 ms delay (so they are reordered too); the jitterbuffers
// absorb it and the composite stays in sync: median A/V offset within
// ±20 ms, no single flash/beep pair off by more than 40 ms (both counted
// from the offset the clip itself has).
func TestLipSyncUnderJitter(t *testing.T) {
	clips := testenv.Inputs(t)
	source := clipOffset(t, filepath.Join(clips, "p1.webm"))
	// At 60 fps the composite's frame grid quantizes a flash to ±8.3 ms
	// instead of ±16.7, so the bound below measures the mixer's sync rather
	// than where the input's phase fell against a coarse grid.
	m := newMixer(t, Config{Width: 640, Height: 360, FPS: 60, VideoBitrateKbps: 1500})
	rec := startRecording(t, m)
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Jitter: 100 * time.Millisecond, Duration: 8 * time.Second})
	f.wait(30 * time.Second)
	path := rec.write(t, t.TempDir())
	flashes := mediatest.FlashTimes(t, path, image.Rectangle{})
	beeps := mediatest.BeepTimes(t, path)
	t.Logf("flashes %v beeps %v offsets %v (the clip's own: %.1f ms)", flashes, beeps, mediatest.AVOffsets(flashes, beeps), source*1000)
	// The first report comes with the first packets, so the offsets are set
	// from the first second on. The clip has a keyframe every 2 s: when
	// reordering breaks the first one the picture starts at the next.
	var late []float64
	for _, fl := range flashes {
		if fl >= 1 {
			late = append(late, fl)
		}
	}
	offsets := relativeTo(mediatest.AVOffsets(late, beeps), source)
	if len(offsets) < 4 {
		t.Fatalf("only %d flash/beep pairs after the first second (flashes %v, beeps %v)\n%s", len(offsets), flashes, beeps, whyNoFlashes(m, path, image.Rectangle{}))
	}
	// The composite shows a flash on its frame grid; the input's phase
	// against that grid is random from run to run, which alone moves the
	// measured offset by up to half a frame (8.3 ms here).
	const bound = 0.020
	if med := mediatest.Median(offsets); math.Abs(med) > bound {
		t.Fatalf("median A/V offset %.1f ms, want within ±%.1f ms (offsets %v)", med*1000, bound*1000, offsets)
	}
	for _, o := range offsets {
		if math.Abs(o) > 0.040 {
			t.Fatalf("A/V offset %.1f ms, want none beyond ±40 ms (offsets %v)", o*1000, offsets)
		}
	}
}

// TestPublishersStartedTogetherStayTogether: two participants whose clips
// start at (nearly) the same moment show their flashes, each in their own
// tile, within 40 ms of each other once the difference of their start
// times is taken out.
func TestPublishersStartedTogetherStayTogether(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1500})
	rec := startRecording(t, m)
	a := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "a", NoAudio: true, Duration: 6 * time.Second})
	b := startFeed(t, m, filepath.Join(clips, "p2.webm"), feedOptions{Participant: "b", NoAudio: true, Duration: 6 * time.Second})
	started := b.wall.Sub(a.wall).Seconds()
	a.wait(30 * time.Second)
	b.wait(30 * time.Second)
	path := rec.write(t, t.TempDir())
	tiles := gridTiles(2, w, h)
	ra, rb := imgRect(letterbox(tiles[0], 1280, 720), 4), imgRect(letterbox(tiles[1], 1280, 720), 4)
	fa := mediatest.FlashTimes(t, path, ra)
	fb := mediatest.FlashTimes(t, path, rb)
	diffs := mediatest.AVOffsets(fa, fb) // b's flash minus a's, paired nearest
	t.Logf("a %v b %v started %.0f ms apart, differences %v", fa, fb, started*1000, diffs)
	if len(diffs) < 4 {
		t.Fatalf("only %d flash pairs (a %v, b %v)\na's tile %s\nb's tile %s", len(diffs), fa, fb,
			whyNoFlashes(m, path, ra), mediatest.DescribeLumas(path, rb))
	}
	for _, d := range diffs[1:] {
		if math.Abs(d-started) > 0.040 {
			t.Fatalf("flashes %.0f ms apart, started %.0f ms apart: want within 40 ms (differences %v)", d*1000, started*1000, diffs)
		}
	}
}
