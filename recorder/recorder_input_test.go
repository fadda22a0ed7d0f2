package recorder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

func TestNewBadConfig(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]Config{
		"no dir":    {Info: testInfo},
		"no size":   {Dir: dir, Info: media.StreamInfo{VideoCodec: media.H264}},
		"vp8":       {Dir: dir, Info: media.StreamInfo{Width: 640, Height: 360, VideoCodec: media.VP8}},
		"bad audio": {Dir: dir, Info: media.StreamInfo{Width: 640, Height: 360, AudioConfig: []byte{0x11, 0x90}}},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// TestRecorderEmptyAndBadSamples: bad samples are refused with precise
// errors, other codecs are ignored, and a recording that never got a
// keyframe closes cleanly with no segment at all.
func TestRecorderEmptyAndBadSamples(t *testing.T) {
	dir := t.TempDir()
	var got []Segment
	r, err := New(Config{Dir: dir, Info: testInfo, OnSegment: func(s Segment) { got = append(got, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(media.Sample{Kind: media.Video, Codec: media.H264, Keyframe: true}); !errors.Is(err, ErrSample) {
		t.Errorf("empty sample: %v, want ErrSample", err)
	}
	if err := r.Write(media.Sample{Kind: media.Video, Codec: media.H264, Data: []byte{0, 0, 0, 1, 0x65}, PTS: -time.Second}); !errors.Is(err, ErrSample) {
		t.Errorf("negative pts: %v, want ErrSample", err)
	}
	for _, s := range []media.Sample{
		{Kind: media.Audio, Codec: media.Opus, Data: []byte{1, 2, 3}},
		{Kind: media.Video, Codec: media.VP8, Data: []byte{1, 2, 3}, Keyframe: true},
		{Kind: media.Audio, Codec: media.AAC, Data: []byte{1, 2, 3}},              // before any keyframe
		{Kind: media.Video, Codec: media.H264, Data: []byte{0, 0, 0, 1, 0x41, 1}}, // delta before any keyframe
	} {
		if err := r.Write(s); err != nil {
			t.Errorf("%s %s: %v, want ignored", s.Kind, s.Codec, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(testSamples(t)[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if err := r.Close(ctx); err != nil {
		t.Errorf("second close: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(got) != 0 || len(files) != 0 {
		t.Errorf("recording without media left segments %v, files %v", got, files)
	}
}

// TestRecorderOddTimestamps: samples going back in time or repeated are
// dropped, not fed to the muxer, and the recording stays whole.
func TestRecorderOddTimestamps(t *testing.T) {
	var in []media.Sample
	for _, s := range testSamples(t) {
		if s.PTS >= 7*time.Second {
			break
		}
		in = append(in, s)
		if s.Kind == media.Video && s.PTS > 2*time.Second && s.PTS < 3*time.Second {
			old := s
			old.PTS -= 500 * time.Millisecond // a stale duplicate from the past
			old.DTS = old.PTS
			in = append(in, s, old)
		}
	}
	segs := record(t, t.TempDir(), in, 6*time.Second)
	if len(segs) != 2 {
		t.Fatalf("%d segments, want 2", len(segs))
	}
	var total time.Duration
	for _, s := range segs {
		probeSegment(t, s.Path, s.Duration)
		total += s.Duration
	}
	if d := total - 7*time.Second; d < -300*time.Millisecond || d > 300*time.Millisecond {
		t.Errorf("recorded %s of 7 s", total)
	}
}

// TestCloseDeadline: a Close whose context is already over still stops the
// pipeline and returns the context's error.
func TestCloseDeadline(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Config{Dir: dir, Info: testInfo})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range testSamples(t)[:200] {
		if err := r.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t0 := time.Now()
	err = r.Close(ctx)
	t.Logf("close took %s: %v", time.Since(t0), err)
	if time.Since(t0) > stateTimeout+5*time.Second {
		t.Errorf("close took %s", time.Since(t0))
	}
	if !errors.Is(err, context.Canceled) {
		// The pipeline may also have finished in time; then it must be clean.
		if err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if err := r.Write(testSamples(t)[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
