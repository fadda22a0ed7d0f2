package mediatest_test

import (
	"image"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// The reference clips put a flash and a beep at the start of every second:
// the detectors must find ten of each, in step.
func TestReferenceClipMarkers(t *testing.T) {
	clip := filepath.Join(testenv.Inputs(t), "p1.webm")
	info := mediatest.Probe(t, clip)
	if v := info.Video(); v == nil || v.Width != 1280 || v.Height != 720 || v.CodecName != "vp8" {
		t.Fatalf("video stream = %+v", info.Video())
	}
	if a := info.Audio(); a == nil || a.CodecName != "opus" {
		t.Fatalf("audio stream = %+v", info.Audio())
	}
	flashes := mediatest.FlashTimes(t, clip, image.Rectangle{})
	beeps := mediatest.BeepTimes(t, clip)
	if len(flashes) != 10 || len(beeps) != 10 {
		t.Fatalf("flashes %v, beeps %v: want 10 of each", flashes, beeps)
	}
	for i, f := range flashes {
		if math.Abs(f-float64(i)) > 0.02 {
			t.Errorf("flash %d at %.3f s", i, f)
		}
	}
	offs := mediatest.AVOffsets(flashes, beeps)
	if len(offs) != 10 {
		t.Fatalf("paired %d of 10", len(offs))
	}
	t.Logf("source clip A/V offsets: median %.1f ms", mediatest.Median(offs)*1000)
	if m := mediatest.Median(offs); math.Abs(m) > 0.015 {
		t.Fatalf("median A/V offset of the source clip %.1f ms, offsets %v", m*1000, offs)
	}
	desc := mediatest.DescribeLumas(clip, image.Rectangle{})
	t.Logf("brightness: %s", desc)
	peaks := regexp.MustCompile(`(\d+)@(\d+)\.(\d+)`).FindAllStringSubmatch(desc, -1)
	if !strings.HasPrefix(desc, "300 frames from 0.007 to 9.974 s;") || len(peaks) != 10 {
		t.Fatalf("brightness summary %q, want 300 frames over 10 s and ten seconds", desc)
	}
	for i, p := range peaks {
		if l, _ := strconv.Atoi(p[1]); l < 215 || p[2] != strconv.Itoa(i) || p[3] > "020" {
			t.Errorf("second %d: brightest frame %s, want the flash at its start", i, p[0])
		}
	}
	frames := mediatest.Frames(t, clip, 64, 36, 0)
	if len(frames) < 295 || len(frames) > 305 {
		t.Fatalf("%d frames in 10 s at 30 fps", len(frames))
	}
	if mediatest.IsBlack(frames[15], 64, image.Rect(0, 0, 64, 36)) {
		t.Fatal("a test-pattern frame decoded as black")
	}
}
