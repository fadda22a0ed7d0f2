package mixer

/*
#cgo pkg-config: gstreamer-1.0
#include <gst/gst.h>

// A mark is what a native pad probe records about the buffers passing a
// pad, read by Go when it wants to. The probes run on streaming threads
// for every buffer; doing that in C keeps those threads from entering the
// Go runtime hundreds of times a second per input.
typedef struct {
	GMutex lock;
	guint64 buffers;
	gboolean have_rtp;
	guint32 rtp_ts;    // RTP timestamp of the latest buffer (RTP marks)
	GstClockTime pts;  // and its PTS
	double level;      // smoothed mean square of F32 samples (level marks)
	double smoothing;  // weight of a new buffer in level
} mosaic_mark;

static void mosaic_mark_clear(gpointer data) { g_mutex_clear(&((mosaic_mark *)data)->lock); }

static void mosaic_mark_release(gpointer data) { g_atomic_rc_box_release_full(data, mosaic_mark_clear); }

static mosaic_mark *mosaic_mark_new(void) {
	mosaic_mark *m = g_atomic_rc_box_new0(mosaic_mark);
	g_mutex_init(&m->lock);
	return m;
}

static GstPadProbeReturn mosaic_count_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	mosaic_mark *m = data;
	g_mutex_lock(&m->lock);
	m->buffers++;
	g_mutex_unlock(&m->lock);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn mosaic_rtp_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	mosaic_mark *m = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	guint8 ts[4];
	if (buf == NULL || !GST_BUFFER_PTS_IS_VALID(buf) || gst_buffer_extract(buf, 4, ts, 4) != 4)
		return GST_PAD_PROBE_OK;
	g_mutex_lock(&m->lock);
	m->buffers++;
	m->have_rtp = TRUE;
	m->rtp_ts = GST_READ_UINT32_BE(ts);
	m->pts = GST_BUFFER_PTS(buf);
	g_mutex_unlock(&m->lock);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn mosaic_level_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	mosaic_mark *m = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstMapInfo map;
	if (buf == NULL || !gst_buffer_map(buf, &map, GST_MAP_READ))
		return GST_PAD_PROBE_OK;
	const gfloat *s = (const gfloat *)map.data;
	gsize n = map.size / sizeof(gfloat);
	double sum = 0;
	for (gsize i = 0; i < n; i++)
		sum += (double)s[i] * s[i];
	gst_buffer_unmap(buf, &map);
	if (n == 0)
		return GST_PAD_PROBE_OK;
	g_mutex_lock(&m->lock);
	m->buffers++;
	m->level = m->level * (1 - m->smoothing) + sum / n * m->smoothing;
	g_mutex_unlock(&m->lock);
	return GST_PAD_PROBE_OK;
}

enum { MOSAIC_COUNT, MOSAIC_RTP, MOSAIC_LEVEL };

static mosaic_mark *mosaic_watch(gpointer pad, int kind, double smoothing) {
	GstPadProbeCallback cb = kind == MOSAIC_RTP ? mosaic_rtp_probe : kind == MOSAIC_LEVEL ? mosaic_level_probe : mosaic_count_probe;
	mosaic_mark *m = mosaic_mark_new();
	m->smoothing = smoothing;
	if (gst_pad_add_probe(GST_PAD(pad), GST_PAD_PROBE_TYPE_BUFFER, cb, g_atomic_rc_box_acquire(m), mosaic_mark_release) == 0) {
		mosaic_mark_release(m);
		mosaic_mark_release(m);
		return NULL;
	}
	return m;
}

static void mosaic_mark_read(mosaic_mark *m, guint64 *buffers, gboolean *have_rtp, guint32 *rtp_ts, GstClockTime *pts, double *level) {
	g_mutex_lock(&m->lock);
	*buffers = m->buffers;
	*have_rtp = m->have_rtp;
	*rtp_ts = m->rtp_ts;
	*pts = m->pts;
	*level = m->level;
	g_mutex_unlock(&m->lock);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// mark reads what a native buffer probe on a pad has seen. It stays
// valid after the pad is gone; release it when done.
type mark struct {
	mu sync.Mutex
	c  *C.mosaic_mark
}

// markReading is one look at a mark.
type markReading struct {
	buffers uint64
	haveRTP bool
	rtpTS   uint32        // RTP timestamp of the latest buffer (watchRTP)
	pts     time.Duration // its PTS
	level   float64       // smoothed mean square (watchLevel)
}

// countBuffers counts the buffers leaving pad.
func countBuffers(pad *gst.Pad) (*mark, error) { return watch(pad, C.MOSAIC_COUNT, 0) }

// watchRTP keeps the RTP timestamp and PTS of the latest packet on pad.
func watchRTP(pad *gst.Pad) (*mark, error) { return watch(pad, C.MOSAIC_RTP, 0) }

// watchLevel keeps the loudness of the F32 audio on pad, smoothed with
// weight smoothing for each new buffer.
func watchLevel(pad *gst.Pad, smoothing float64) (*mark, error) {
	return watch(pad, C.MOSAIC_LEVEL, smoothing)
}

func watch(pad *gst.Pad, kind C.int, smoothing float64) (*mark, error) {
	c := C.mosaic_watch(C.gpointer(pad.Unsafe()), kind, C.double(smoothing))
	if c == nil {
		return nil, fmt.Errorf("%w: probe on %s", ErrPipeline, pad.GetName())
	}
	return &mark{c: c}, nil
}

// read returns what the probe has seen so far (zero after release).
func (m *mark) read() markReading {
	if m == nil {
		return markReading{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.c == nil {
		return markReading{}
	}
	var (
		buffers C.guint64
		haveRTP C.gboolean
		ts      C.guint32
		pts     C.GstClockTime
		level   C.double
	)
	C.mosaic_mark_read(m.c, &buffers, &haveRTP, &ts, &pts, &level)
	r := markReading{buffers: uint64(buffers), haveRTP: haveRTP != 0, rtpTS: uint32(ts), level: float64(level)}
	if d, ok := clockDuration(gst.ClockTime(pts)); ok {
		r.pts = d
	} else {
		r.haveRTP = false
	}
	return r
}

// release gives up Go's hold on the mark; the probe keeps its own until
// the pad goes.
func (m *mark) release() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.c != nil {
		C.mosaic_mark_release(C.gpointer(m.c))
		m.c = nil
	}
}
