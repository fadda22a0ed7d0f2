package recorder

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// copyFile copies src as it is now, like the disk after a kill -9.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSegmentReadable copies a segment while it is still open and shows
// that it plays up to its last complete fragment, and that Recover finds it.
func TestOpenSegmentReadable(t *testing.T) {
	all := testSamples(t)
	var in []media.Sample
	for _, s := range all {
		if s.PTS < 8*time.Second {
			in = append(in, s)
		}
	}
	dir := t.TempDir()
	r, err := New(Config{Dir: dir, Info: testInfo, SegmentDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	for _, s := range in {
		if err := r.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	open := filepath.Join(dir, "seg-00001.mp4")
	// The muxer holds the current fragment; the ones before it must reach
	// the disk without any close.
	var info mp4Info
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if info, err = inspectMP4(open); err == nil && info.Fragments >= 6 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info.Fragments < 6 {
		t.Fatalf("open segment has %d complete fragments (err %v), want ≥ 6 of 8 s", info.Fragments, err)
	}
	crashed := t.TempDir()
	copy := filepath.Join(crashed, "seg-00001.mp4")
	copyFile(t, open, copy)

	pi := probeSegment(t, copy, 0)
	if pi.Duration < 6 || pi.Duration > 8.1 {
		t.Errorf("crash copy plays %.3fs, want 6-8 s", pi.Duration)
	}
	// A torn tail, as when the process died in the middle of a write.
	f, err := os.OpenFile(copy, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3})
	f.Close()
	// A segment that died before its first fragment.
	empty := filepath.Join(crashed, "seg-00002.mp4")
	if err := os.WriteFile(empty, []byte{0, 0, 0, 8, 'f', 't', 'y', 'p'}, 0o644); err != nil {
		t.Fatal(err)
	}

	segs, err := Recover(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || segs[0].Index != 1 || segs[0].Path != copy {
		t.Fatalf("recovered %+v, want seg-00001 only", segs)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("unplayable segment not removed: %v", err)
	}
	got := segs[0]
	if st, _ := os.Stat(copy); st.Size() != got.Size {
		t.Errorf("recovered size %d, file %d", got.Size, st.Size())
	}
	if d := got.Duration.Seconds() - pi.Duration; d < -0.3 || d > 0.3 {
		t.Errorf("recovered duration %s, ffprobe %.3fs", got.Duration, pi.Duration)
	}
	probeSegment(t, copy, got.Duration)
}
