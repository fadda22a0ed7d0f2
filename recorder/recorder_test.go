package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
)

// probeSegment checks that a file plays alone: H.264 1280x720 + AAC, and
// (when want > 0) lasts want within 0.3 s.
func probeSegment(t *testing.T, path string, want time.Duration) *mediatest.Info {
	t.Helper()
	info := mediatest.Probe(t, path)
	v, a := info.Video(), info.Audio()
	if v == nil || v.CodecName != "h264" || v.Width != testW || v.Height != testH {
		t.Errorf("%s: video %+v, want h264 %dx%d", path, v, testW, testH)
	}
	if a == nil || a.CodecName != "aac" || a.SampleRate != testRate || a.Channels != testChannels {
		t.Errorf("%s: audio %+v, want aac %d Hz %d ch", path, a, testRate, testChannels)
	}
	if want > 0 {
		if a != nil && a.Duration < want.Seconds()-0.3 {
			t.Errorf("%s: audio lasts %.3fs of %s", path, a.Duration, want)
		}
		if d := info.Duration - want.Seconds(); d < -0.3 || d > 0.3 {
			t.Errorf("%s: ffprobe says %.3fs, segment says %s", path, info.Duration, want)
		}
	}
	return info
}

func record(t *testing.T, dir string, in []media.Sample, seg time.Duration) []Segment {
	t.Helper()
	var mu sync.Mutex
	var got []Segment
	r, err := New(Config{Dir: dir, Info: testInfo, SegmentDuration: seg,
		OnSegment: func(s Segment) { mu.Lock(); got = append(got, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range in {
		if err := r.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestRecorderSegments(t *testing.T) {
	in := offset(testSamples(t), 3700*time.Millisecond)
	// Video before the first keyframe must be dropped: start on a delta frame.
	for len(in) > 0 && !(in[0].Kind == media.Video && !in[0].Keyframe) {
		in = in[1:]
	}
	dir := t.TempDir()
	segs := record(t, dir, in, 6*time.Second)
	t.Logf("segments: %+v", segs)
	if len(segs) < 3 || len(segs) > 4 {
		t.Fatalf("%d segments, want 3-4", len(segs))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "seg-*.mp4"))
	if len(files) != len(segs) {
		t.Errorf("%d files on disk, %d announced", len(files), len(segs))
	}
	var total time.Duration
	for i, s := range segs {
		if s.Path != files[i] {
			t.Errorf("segment %d announced as %s, file %s", i, s.Path, files[i])
		}
		if s.Index != i+1 {
			t.Errorf("segment %d has index %d", i, s.Index)
		}
		data, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != s.Size || hex.EncodeToString(sum[:]) != s.SHA256 {
			t.Errorf("%s: size/sha256 %d %s, file has %d %x", s.Path, s.Size, s.SHA256, len(data), sum)
		}
		total += s.Duration
		probeSegment(t, s.Path, s.Duration)
	}
	// Closed segments are whole: Recover keeps them byte for byte.
	rec, err := Recover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != len(segs) {
		t.Fatalf("Recover found %d of %d segments", len(rec), len(segs))
	}
	for i := range rec {
		if rec[i].SHA256 != segs[i].SHA256 || rec[i].Index != segs[i].Index || rec[i].Start != segs[i].Start {
			t.Errorf("recovered %+v, announced %+v", rec[i], segs[i])
		}
	}
	if d := total - (testSeconds-1)*time.Second; d < -500*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("segments last %s, want ≈ %ds", total, testSeconds-1)
	}
}
