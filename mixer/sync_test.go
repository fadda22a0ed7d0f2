package mixer

import (
	"fmt"
	"image"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestLipSync sends the flash-and-beep clip through the mixer and measures
// the A/V offset of the composite against the clip's own. With the audio
// track delayed on the "network", the sender reports must bring it back in
// sync.
func TestLipSync(t *testing.T) {
	clips := testenv.Inputs(t)
	source := clipOffset(t, filepath.Join(clips, "p1.webm"))
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{{"in step", 0}, {"audio 150ms late", 150 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			// At 60 fps the composite's frame grid moves a flash by at most
			// ±8.3 ms (±16.7 at 30), so the bound measures the mixer's sync.
			m := newMixer(t, Config{Width: 640, Height: 360, FPS: 60, VideoBitrateKbps: 1500})
			rec := startRecording(t, m)
			f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{AudioDelay: tc.delay, Duration: 6 * time.Second})
			f.wait(30 * time.Second)
			path := rec.write(t, t.TempDir())
			flashes := mediatest.FlashTimes(t, path, image.Rectangle{})
			beeps := mediatest.BeepTimes(t, path)
			if len(flashes) < 3 || len(beeps) < 3 {
				t.Fatalf("flashes %v, beeps %v: want at least 3 of each\n%s", flashes, beeps, whyNoFlashes(m, path, image.Rectangle{}))
			}
			offsets := relativeTo(mediatest.AVOffsets(flashes, beeps), source)
			// The first second is before the first sender report corrected the offset.
			if tc.delay > 0 && len(offsets) > 3 {
				offsets = offsets[2:]
			}
			med := mediatest.Median(offsets)
			t.Logf("flashes %v beeps %v offsets %v median %.3f s (relative to the clip's own %.1f ms)", flashes, beeps, offsets, med, source*1000)
			if med < -0.020 || med > 0.020 {
				t.Fatalf("median A/V offset %.1f ms, want within ±20 ms (offsets %v)", med*1000, offsets)
			}
		})
	}
}

// whyNoFlashes describes a composite whose flashes were not all found: its
// frames' brightness and the mixer's counters.
func whyNoFlashes(m *Mixer, path string, region image.Rectangle) string {
	return fmt.Sprintf("composite: %s\nmixer: %+v", mediatest.DescribeLumas(path, region), m.Stats())
}

// clipOffset is the median A/V offset the detectors find in a source clip
// itself (its first video frame is stamped a few ms after its audio): the
// composite keeps it, so what the mixer adds is measured relative to it.
// Each clip is measured once per test binary.
func clipOffset(t *testing.T, clip string) float64 {
	t.Helper()
	if o, ok := clipOffsets.Load(clip); ok {
		return o.(float64)
	}
	flashes := mediatest.FlashTimes(t, clip, image.Rectangle{})
	beeps := mediatest.BeepTimes(t, clip)
	offsets := mediatest.AVOffsets(flashes, beeps)
	if len(offsets) < 3 {
		t.Fatalf("source clip %s: flashes %v, beeps %v", clip, flashes, beeps)
	}
	o := mediatest.Median(offsets)
	clipOffsets.Store(clip, o)
	return o
}

var clipOffsets sync.Map // clip path → its offset (s)

// relativeTo subtracts the source clip's offset from each measured offset.
func relativeTo(offsets []float64, source float64) []float64 {
	out := make([]float64, len(offsets))
	for i, o := range offsets {
		out[i] = o - source
	}
	return out
}
