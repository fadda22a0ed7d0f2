package mixer

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-app-1.0
#include <unistd.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>

// The encoded output reaches Go through a queue filled by native appsink
// callbacks. A callback into Go from each encoder's streaming thread would
// leave a Go scheduler slot parked on that thread after every frame, which
// keeps the runtime busy retaking slots; instead the first sample into an
// empty queue writes one byte to a pipe that a Go goroutine waits on.
typedef struct {
	int stream;
	GstBuffer *buffer;
	GstMapInfo map;
	gint64 pts, dts, duration; // running time in ns, -1 when unknown
	gboolean delta;
} mosaic_item;

typedef struct {
	GMutex lock;
	GQueue items;
	guint max_items;
	gboolean told;   // a wake-up byte is on its way and not yet answered
	int wake_fd;     // write end of the pipe, -1 once closed
	guint64 dropped; // samples dropped because Go did not keep up
} mosaic_handoff;

typedef struct {
	mosaic_handoff *h;
	int stream;
} mosaic_sink_ctx;

static void mosaic_item_free(gpointer data) {
	mosaic_item *it = data;
	gst_buffer_unmap(it->buffer, &it->map);
	gst_buffer_unref(it->buffer);
	g_free(it);
}

static void mosaic_handoff_clear(gpointer data) {
	mosaic_handoff *h = data;
	g_queue_clear_full(&h->items, mosaic_item_free);
	g_mutex_clear(&h->lock);
}

static void mosaic_handoff_release(gpointer data) { g_atomic_rc_box_release_full(data, mosaic_handoff_clear); }

static gint64 mosaic_running(const GstSegment *seg, GstClockTime t) {
	if (!GST_CLOCK_TIME_IS_VALID(t))
		return -1;
	if (seg == NULL || seg->format != GST_FORMAT_TIME)
		return (gint64)t;
	gint64 r = (gint64)t - (gint64)seg->start + (gint64)seg->base;
	return r < 0 ? 0 : r;
}

static GstFlowReturn mosaic_new_sample(GstAppSink *sink, gpointer data) {
	mosaic_sink_ctx *ctx = data;
	mosaic_handoff *h = ctx->h;
	GstSample *s = gst_app_sink_pull_sample(sink);
	if (s == NULL)
		return GST_FLOW_EOS;
	GstBuffer *buf = gst_sample_get_buffer(s);
	if (buf == NULL) {
		gst_sample_unref(s);
		return GST_FLOW_OK;
	}
	mosaic_item *it = g_new0(mosaic_item, 1);
	it->stream = ctx->stream;
	it->buffer = gst_buffer_ref(buf);
	const GstSegment *seg = gst_sample_get_segment(s);
	it->pts = mosaic_running(seg, GST_BUFFER_PTS(buf));
	it->dts = mosaic_running(seg, GST_BUFFER_DTS(buf));
	it->duration = GST_BUFFER_DURATION_IS_VALID(buf) ? (gint64)GST_BUFFER_DURATION(buf) : -1;
	it->delta = GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
	gst_sample_unref(s);
	if (!gst_buffer_map(it->buffer, &it->map, GST_MAP_READ)) {
		gst_buffer_unref(it->buffer);
		g_free(it);
		return GST_FLOW_OK;
	}
	mosaic_item *old = NULL;
	g_mutex_lock(&h->lock);
	if (h->items.length >= h->max_items) {
		old = g_queue_pop_head(&h->items);
		h->dropped++;
	}
	g_queue_push_tail(&h->items, it);
	if (!h->told && h->wake_fd >= 0) {
		h->told = TRUE;
		char b = 1;
		if (write(h->wake_fd, &b, 1) != 1)
			h->told = FALSE;
	}
	g_mutex_unlock(&h->lock);
	if (old != NULL)
		mosaic_item_free(old);
	return GST_FLOW_OK;
}

static mosaic_handoff *mosaic_handoff_new(int wake_fd, guint max_items) {
	mosaic_handoff *h = g_atomic_rc_box_new0(mosaic_handoff);
	g_mutex_init(&h->lock);
	g_queue_init(&h->items);
	h->wake_fd = wake_fd;
	h->max_items = max_items;
	return h;
}

static void mosaic_sink_ctx_free(gpointer data) {
	mosaic_sink_ctx *ctx = data;
	mosaic_handoff_release(ctx->h);
	g_free(ctx);
}

static void mosaic_handoff_attach(mosaic_handoff *h, gpointer sink, int stream) {
	mosaic_sink_ctx *ctx = g_new0(mosaic_sink_ctx, 1);
	ctx->h = g_atomic_rc_box_acquire(h);
	ctx->stream = stream;
	GstAppSinkCallbacks cb = {0};
	cb.new_sample = mosaic_new_sample;
	gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, ctx, mosaic_sink_ctx_free);
}

// mosaic_handoff_pop takes the oldest item, or NULL when the queue is
// empty: then the next sample wakes Go again.
static mosaic_item *mosaic_handoff_pop(mosaic_handoff *h) {
	g_mutex_lock(&h->lock);
	mosaic_item *it = g_queue_pop_head(&h->items);
	if (it == NULL)
		h->told = FALSE;
	g_mutex_unlock(&h->lock);
	return it;
}

static void mosaic_handoff_close(mosaic_handoff *h) {
	g_mutex_lock(&h->lock);
	h->wake_fd = -1;
	g_mutex_unlock(&h->lock);
}

static guint64 mosaic_handoff_dropped(mosaic_handoff *h) {
	g_mutex_lock(&h->lock);
	guint64 n = h->dropped;
	g_mutex_unlock(&h->lock);
	return n;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// handoffItems bounds the samples waiting for Go (about 4 s of all three streams).
const handoffItems = 512

// handoff carries the encoded samples of the room's appsinks to Go.
type handoff struct {
	c       *C.mosaic_handoff
	r, w    *os.File
	streams []func(outSample)
	done    chan struct{}
	once    sync.Once
}

// outSample is one encoded buffer as the appsink gave it, in running time.
type outSample struct {
	data     []byte
	pts      time.Duration
	dts      time.Duration
	duration time.Duration
	hasPTS   bool
	hasDTS   bool
	hasDur   bool
	delta    bool
}

func newHandoff() (*handoff, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: output pipe: %w", ErrPipeline, err)
	}
	return &handoff{c: C.mosaic_handoff_new(C.int(w.Fd()), handoffItems), r: r, w: w, done: make(chan struct{})}, nil
}

// attach makes sink's samples go to fn, on the handoff goroutine.
func (h *handoff) attach(sink *gst.Element, fn func(outSample)) {
	C.mosaic_handoff_attach(h.c, C.gpointer(sink.Unsafe()), C.int(len(h.streams)))
	h.streams = append(h.streams, fn)
}

// run delivers samples until stop; it is the one goroutine that reads the pipe.
func (h *handoff) run() {
	defer close(h.done)
	wake := make([]byte, 64)
	for {
		_, err := h.r.Read(wake)
		h.drain()
		if err != nil {
			return
		}
	}
}

func (h *handoff) drain() {
	for {
		it := C.mosaic_handoff_pop(h.c)
		if it == nil {
			return
		}
		s := outSample{
			data:   C.GoBytes(unsafe.Pointer(it._map.data), C.int(it._map.size)),
			pts:    time.Duration(it.pts),
			dts:    time.Duration(it.dts),
			hasPTS: it.pts >= 0, hasDTS: it.dts >= 0, hasDur: it.duration >= 0,
			duration: time.Duration(it.duration),
			delta:    it.delta != 0,
		}
		stream := int(it.stream)
		C.mosaic_item_free(C.gpointer(it))
		if stream >= 0 && stream < len(h.streams) {
			h.streams[stream](s)
		}
	}
}

// dropped counts samples lost because the goroutine fell behind.
func (h *handoff) dropped() uint64 { return uint64(C.mosaic_handoff_dropped(h.c)) }

// stop delivers what is still queued and ends the goroutine. Call it once
// the appsinks are stopped.
func (h *handoff) stop() error {
	var err error
	h.once.Do(func() {
		C.mosaic_handoff_close(h.c)
		if err = h.r.SetReadDeadline(time.Now()); err != nil {
			err = errors.Join(err, h.r.Close())
		}
		<-h.done
		err = errors.Join(err, h.r.Close(), h.w.Close())
		C.mosaic_handoff_release(C.gpointer(h.c))
	})
	return err
}
