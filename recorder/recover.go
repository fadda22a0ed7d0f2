package recorder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Recover returns the segments a crashed recorder left in dir, the one that
// was open included, in index order with size, SHA-256, start and duration.
//
// A segment is kept when it has its moov and at least one complete
// fragment; a torn write after its last complete fragment is truncated away,
// so the file ends cleanly. A segment with nothing playable (no moov, or no
// complete fragment) is removed: it holds no media. Only I/O failures are
// returned as errors. Recover must not run while a Recorder writes to dir.
func Recover(dir string) ([]Segment, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "seg-*.mp4"))
	if err != nil {
		return nil, fmt.Errorf("recorder: list %s: %w", dir, err)
	}
	sort.Slice(paths, func(i, j int) bool { return segmentIndex(paths[i]) < segmentIndex(paths[j]) })
	var out []Segment
	var start time.Duration
	for _, p := range paths {
		seg, next, err := recoverSegment(p, start)
		if errors.Is(err, ErrNotMP4) || errors.Is(err, ErrNoFragment) {
			if rerr := os.Remove(p); rerr != nil {
				return out, fmt.Errorf("recorder: remove unplayable %s: %w", p, rerr)
			}
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, seg)
		start += next
	}
	return out, nil
}

// recoverSegment checks and trims one segment; next is how far the
// following segment starts after this one (its video duration).
func recoverSegment(path string, start time.Duration) (seg Segment, next time.Duration, err error) {
	info, err := inspectMP4(path)
	if err != nil {
		return Segment{}, 0, err
	}
	if info.Fragments == 0 {
		return Segment{}, 0, fmt.Errorf("%w: %s", ErrNoFragment, path)
	}
	if info.ValidEnd < info.Size {
		if err := os.Truncate(path, info.ValidEnd); err != nil {
			return Segment{}, 0, fmt.Errorf("recorder: truncate %s: %w", path, err)
		}
	}
	next = info.VideoDuration
	if next == 0 {
		next = info.Duration
	}
	seg, err = describeSegment(path, start, info.Duration)
	return seg, next, err
}
