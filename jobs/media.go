package jobs

import "context"

// Media does the media work of finalizing: the worker's caller injects an
// implementation (GStreamer in production), so jobs stays free of it.
type Media interface {
	// Concat remuxes the segment files, in order, into one MP4 at out with
	// its index at the front, without re-encoding.
	Concat(ctx context.Context, segments []string, out string) error
	// Thumbnail writes one JPEG frame of video to out.
	Thumbnail(ctx context.Context, video, out string) error
}

// Prober is optionally implemented by a Media that can measure a file's
// duration; finalize then reports the composite's measured duration instead
// of the sum of the segment durations.
type Prober interface {
	Duration(ctx context.Context, path string) (float64, error)
}

// MediaFuncs adapts a pair of functions (such as recorder.Concat and
// recorder.Thumbnail) to Media.
type MediaFuncs struct {
	ConcatFunc    func(ctx context.Context, segments []string, out string) error
	ThumbnailFunc func(ctx context.Context, video, out string) error
}

// Concat calls ConcatFunc.
func (m MediaFuncs) Concat(ctx context.Context, segments []string, out string) error {
	return m.ConcatFunc(ctx, segments, out)
}

// Thumbnail calls ThumbnailFunc.
func (m MediaFuncs) Thumbnail(ctx context.Context, video, out string) error {
	return m.ThumbnailFunc(ctx, video, out)
}
