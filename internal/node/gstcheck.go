package node

import (
	"sync"

	"github.com/go-gst/go-gst/gst"
)

// requiredElements are the GStreamer elements the mixer and recorder build
// their pipelines from.
var requiredElements = []string{
	"appsrc", "appsink", "rtpjitterbuffer", "rtpvp8depay", "rtph264depay", "rtpopusdepay",
	"vp8dec", "avdec_h264", "opusdec", "videoconvert", "videoscale", "compositor", "audiomixer",
	"audioconvert", "audioresample", "x264enc", "h264parse", "avenc_aac", "opusenc",
	"splitmuxsink", "mp4mux", "qtdemux", "filesink",
}

var gstInit sync.Once

// missingElements lists the required GStreamer elements that are not installed.
func missingElements() []string {
	gstInit.Do(func() { gst.Init(nil) })
	var missing []string
	for _, name := range requiredElements {
		if f := gst.Find(name); f == nil {
			missing = append(missing, name)
		}
	}
	return missing
}
