package node

import (
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/mixer"
)

type frameCounter struct{ frames uint64 }

func (f *frameCounter) Stats() mixer.Stats { return mixer.Stats{VideoFrames: f.frames} }

func TestFPSMeter(t *testing.T) {
	var m fpsMeter
	mx := &frameCounter{}
	t0 := time.Now()
	if got := m.rate("r", mx, t0); got != 0 {
		t.Fatalf("first sample: %.1f, want 0 (not measured)", got)
	}
	mx.frames = 30
	if got := m.rate("r", mx, t0.Add(time.Second)); got != 0 {
		t.Fatalf("before a full window: %.1f", got)
	}
	mx.frames = 45
	if got := m.rate("r", mx, t0.Add(3*time.Second)); got != 15 {
		t.Fatalf("45 frames in 3 s: %.1f fps, want 15", got)
	}
	if got := m.rate("r", mx, t0.Add(3500*time.Millisecond)); got != 15 {
		t.Fatalf("within the next window the last rate stays: %.1f", got)
	}
	if got := m.rate("other", struct{}{}, t0); got != 0 {
		t.Fatalf("a mixer without stats: %.1f", got)
	}
	m.keep(map[string]bool{})
	if len(m.rooms) != 0 {
		t.Fatalf("closed rooms kept: %v", m.rooms)
	}
}
