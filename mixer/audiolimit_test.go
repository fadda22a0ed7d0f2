package mixer

import (
	"math"
	"testing"
)

// TestPeakLimiter: a tone four times full scale comes out under the
// ceiling and still a tone; when it goes quiet the gain recovers.
func TestPeakLimiter(t *testing.T) {
	l := newPeakLimiter(48000, 2)
	buf := make([]float32, 960*2) // 20 ms stereo
	feed := func(amp float64, bufs int) (peak float32) {
		for k := range bufs {
			for i := range 960 {
				v := float32(amp * math.Sin(2*math.Pi*440*float64(k*960+i)/48000))
				buf[2*i], buf[2*i+1] = v, v
			}
			l.process(buf)
			for _, v := range buf {
				peak = max(peak, v, -v)
			}
		}
		return peak
	}
	if peak := feed(4, 50); peak > l.ceiling || peak < 0.9*l.ceiling {
		t.Fatalf("loud tone: peak %.3f, want just under the ceiling %.3f", peak, l.ceiling)
	}
	if peak := feed(0.1, 100); peak < 0.099 {
		t.Fatalf("quiet tone 2 s after the loud one: peak %.3f, want 0.1 (gain back to 1)", peak)
	}
	buf[0] = float32(math.NaN())
	l.process(buf)
	if buf[0] != 0 {
		t.Fatalf("NaN sample came out as %v", buf[0])
	}
}
