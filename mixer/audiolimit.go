package mixer

/*
#cgo pkg-config: gstreamer-1.0
#include <math.h>
#include <gst/gst.h>

// The limiter runs natively on audiomixer's streaming thread, for every
// buffer of the mix.
typedef struct {
	GMutex lock;
	int channels;
	float ceiling, release, gain;
	guint64 limited, skipped;
} mosaic_limiter;

static void mosaic_limiter_clear(gpointer data) { g_mutex_clear(&((mosaic_limiter *)data)->lock); }

static void mosaic_limiter_release(gpointer data) { g_atomic_rc_box_release_full(data, mosaic_limiter_clear); }

static mosaic_limiter *mosaic_limiter_new(int channels, float ceiling, float release) {
	mosaic_limiter *l = g_atomic_rc_box_new0(mosaic_limiter);
	g_mutex_init(&l->lock);
	l->channels = channels;
	l->ceiling = ceiling;
	l->release = release;
	l->gain = 1;
	return l;
}

// mosaic_limit limits n interleaved samples in place; TRUE when the gain
// was reduced anywhere in them.
static gboolean mosaic_limit(mosaic_limiter *l, float *s, gsize n) {
	gboolean reduced = FALSE;
	int ch = l->channels;
	g_mutex_lock(&l->lock);
	float gain = l->gain;
	for (gsize i = 0; i + ch <= n; i += ch) {
		float peak = 0;
		for (int j = 0; j < ch; j++) {
			float v = s[i + j];
			if (isnan(v)) // from a broken input: silence it
				s[i + j] = v = 0;
			peak = fmaxf(peak, fabsf(v));
		}
		float g = gain + (1 - gain) * l->release;
		if (peak * g > l->ceiling)
			g = l->ceiling / peak;
		gain = g;
		if (g < 1) {
			reduced = TRUE;
			for (int j = 0; j < ch; j++)
				s[i + j] = fminf(fmaxf(s[i + j] * g, -l->ceiling), l->ceiling);
		}
	}
	l->gain = gain;
	if (reduced)
		l->limited++;
	g_mutex_unlock(&l->lock);
	return reduced;
}

static GstPadProbeReturn mosaic_limit_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	mosaic_limiter *l = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstMapInfo map;
	if (buf == NULL)
		return GST_PAD_PROBE_OK;
	if (!gst_buffer_is_writable(buf) || !gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
		g_mutex_lock(&l->lock);
		l->skipped++;
		g_mutex_unlock(&l->lock);
		return GST_PAD_PROBE_OK;
	}
	mosaic_limit(l, (float *)map.data, map.size / sizeof(float));
	gst_buffer_unmap(buf, &map);
	return GST_PAD_PROBE_OK;
}

static gboolean mosaic_limiter_attach(mosaic_limiter *l, gpointer pad) {
	return gst_pad_add_probe(GST_PAD(pad), GST_PAD_PROBE_TYPE_BUFFER, mosaic_limit_probe,
		g_atomic_rc_box_acquire(l), mosaic_limiter_release) != 0;
}

static void mosaic_limiter_counts(mosaic_limiter *l, guint64 *limited, guint64 *skipped) {
	g_mutex_lock(&l->lock);
	*limited = l->limited;
	*skipped = l->skipped;
	g_mutex_unlock(&l->lock);
}
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
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

// peakLimiter keeps interleaved float samples under a ceiling.
type peakLimiter struct {
	c       *C.mosaic_limiter
	ceiling float32
}

func newPeakLimiter(rate, channels int) *peakLimiter {
	ceiling := float32(math.Pow(10, limiterCeilingDB/20))
	release := float32(1 - math.Exp(-1/(limiterRelease*float64(rate))))
	l := &peakLimiter{c: C.mosaic_limiter_new(C.int(channels), C.float(ceiling), C.float(release)), ceiling: ceiling}
	runtime.AddCleanup(l, func(c *C.mosaic_limiter) { C.mosaic_limiter_release(C.gpointer(c)) }, l.c)
	return l
}

// process limits one buffer of interleaved samples in place; it reports
// whether the gain was reduced anywhere in it.
func (l *peakLimiter) process(samples []float32) bool {
	if len(samples) == 0 {
		return false
	}
	return C.mosaic_limit(l.c, (*C.float)(unsafe.Pointer(&samples[0])), C.gsize(len(samples))) != 0
}

// attach applies the limiter to every buffer leaving pad.
func (l *peakLimiter) attach(pad *gst.Pad) error {
	if C.mosaic_limiter_attach(l.c, C.gpointer(pad.Unsafe())) == 0 {
		return fmt.Errorf("%w: limiter probe on %s", ErrPipeline, pad.GetName())
	}
	return nil
}

// counts are the buffers in which the gain was below 1, and those that
// could not be written in place.
func (l *peakLimiter) counts() (limited, skipped uint64) {
	var lim, skip C.guint64
	C.mosaic_limiter_counts(l.c, &lim, &skip)
	return uint64(lim), uint64(skip)
}
