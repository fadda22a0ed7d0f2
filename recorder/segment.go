package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// handleElement follows splitmuxsink's segment open/close messages.
func (r *Recorder) handleElement(msg *gst.Message) {
	st := msg.GetStructure()
	if st == nil {
		return
	}
	name := st.Name()
	if name != "splitmuxsink-fragment-opened" && name != "splitmuxsink-fragment-closed" {
		return
	}
	v, err := st.GetValue("location")
	loc, _ := v.(string)
	if err != nil || loc == "" {
		r.log.Warn("segment message without location", "message", name)
		return
	}
	var rt time.Duration
	if v, err := st.GetValue("running-time"); err == nil {
		if u, ok := v.(uint64); ok {
			rt = time.Duration(u)
		}
	}
	if name == "splitmuxsink-fragment-opened" {
		r.opened[loc] = rt
		r.log.Debug("segment opened", "path", loc, "start", rt)
		return
	}
	start, ok := r.opened[loc]
	if !ok {
		return
	}
	delete(r.opened, loc)
	r.announce(loc, start, rt-start)
}

// closeOpenSegments announces segments whose close message never came.
func (r *Recorder) closeOpenSegments() {
	for loc, start := range r.opened {
		delete(r.opened, loc)
		r.announce(loc, start, 0)
	}
}

func (r *Recorder) announce(path string, start, dur time.Duration) {
	if info, err := inspectMP4(path); err != nil || info.Fragments == 0 {
		// splitmuxsink opens a file even when the stream ends before any
		// media: such a file holds nothing to play or upload.
		r.log.Warn("removing segment without media", "path", path, "err", err)
		if rerr := os.Remove(path); rerr != nil && !os.IsNotExist(rerr) {
			r.log.Error("remove empty segment", "path", path, "err", rerr)
		}
		return
	}
	seg, err := describeSegment(path, start, dur)
	if err != nil {
		r.log.Error("segment unreadable", "path", path, "err", err)
		return
	}
	r.log.Info("segment closed", "path", path, "index", seg.Index, "start", seg.Start,
		"duration", seg.Duration, "size", seg.Size)
	if r.cfg.OnSegment != nil {
		r.cfg.OnSegment(seg)
	}
}

// describeSegment syncs a closed segment to disk and measures it. The
// duration comes from the file's fragments; fallback is used when the file
// does not say.
func describeSegment(path string, start, fallback time.Duration) (Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return Segment{}, fmt.Errorf("recorder: open segment: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return Segment{}, fmt.Errorf("recorder: sync %s: %w", path, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Segment{}, fmt.Errorf("recorder: hash %s: %w", path, err)
	}
	seg := Segment{Index: segmentIndex(path), Path: path, Start: start, Duration: fallback,
		Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if info, err := inspectMP4(path); err == nil && info.Duration > 0 {
		seg.Duration = info.Duration
	}
	return seg, nil
}

// segmentIndex is the number in seg-NNNNN.mp4, or 0.
func segmentIndex(path string) int {
	var n int
	if _, err := fmt.Sscanf(filepath.Base(path), "seg-%d.mp4", &n); err != nil {
		return 0
	}
	return n
}
