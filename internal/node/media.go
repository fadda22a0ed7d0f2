package node

import (
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// Media is the GStreamer implementation of the jobs' media work.
func Media() jobs.Media {
	return jobs.MediaFuncs{ConcatFunc: recorder.Concat, ThumbnailFunc: recorder.Thumbnail}
}
