package recorder

/*
#cgo pkg-config: gstreamer-1.0
#include <gst/gst.h>

static void mosaic_set_dts(void *buf, guint64 dts) { GST_BUFFER_DTS((GstBuffer *)buf) = dts; }
*/
import "C"

import (
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// setDTS sets a buffer's decoding timestamp, which go-gst does not expose.
func setDTS(b *gst.Buffer, dts gst.ClockTime) {
	C.mosaic_set_dts(unsafe.Pointer(b.Instance()), C.guint64(dts))
}
