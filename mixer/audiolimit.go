package mixer

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// The room mixes in 32-bit float, so a sum of loud participants can go past
// full scale without wrapping; the limiter on audiomixer's output brings it
// back under limiterCeiling before the encoders see it. It is a peak
// limiter without look-ahead: the gain drops at once on a sample that would
// exceed the ceiling (so no sample ever does) and recovers with a time
// constant of limiterRelease. The ceiling sits 3 dB under full scale so
// that the lossy encoders' overshoot stays below -1 dBFS once decoded.
const (
	limiterCeilingDB = -3.0
	limiterRelease   = 0.15 // seconds
)

// peakLimiter keeps interleaved float samples under a ceiling. It is used
// from the streaming thread of audiomixer's source pad only.
type peakLimiter struct {
	channels int
	ceiling  float32
	release  float32 // per-frame recovery step towards unity gain
	gain     float32
	limited  atomic.Uint64 // buffers in which the gain was below 1
	skipped  atomic.Uint64 // buffers that could not be written in place
}

func newPeakLimiter(rate, channels int) *peakLimiter {
	return &peakLimiter{
		channels: channels,
		ceiling:  float32(math.Pow(10, limiterCeilingDB/20)),
		release:  float32(1 - math.Exp(-1/(limiterRelease*float64(rate)))),
		gain:     1,
	}
}

// process limits one buffer of interleaved samples in place; it reports
// whether the gain was reduced anywhere in it.
func (l *peakLimiter) process(samples []float32) bool {
	reduced := false
	for i := 0; i+l.channels <= len(samples); i += l.channels {
		frame := samples[i : i+l.channels]
		peak := float32(0)
		for j, v := range frame {
			if v != v { // NaN from a broken input: silence it
				frame[j], v = 0, 0
			}
			if v < 0 {
				v = -v
			}
			peak = max(peak, v)
		}
		g := l.gain + (1-l.gain)*l.release
		if peak*g > l.ceiling {
			g = l.ceiling / peak
		}
		l.gain = g
		if g < 1 {
			reduced = true
			for j := range frame {
				frame[j] = min(max(frame[j]*g, -l.ceiling), l.ceiling)
			}
		}
	}
	return reduced
}

// onBuffer is the pad probe that applies the limiter to the mix.
func (l *peakLimiter) onBuffer(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
	buf := info.GetBuffer()
	if buf == nil {
		return gst.PadProbeOK
	}
	if !buf.IsWritable() {
		l.skipped.Add(1)
		return gst.PadProbeOK
	}
	mi := buf.Map(gst.MapRead | gst.MapWrite)
	if mi == nil || mi.Data() == nil {
		l.skipped.Add(1)
		return gst.PadProbeOK
	}
	defer buf.Unmap()
	samples := unsafe.Slice((*float32)(mi.Data()), mi.Size()/4)
	if l.process(samples) {
		l.limited.Add(1)
	}
	return gst.PadProbeOK
}
