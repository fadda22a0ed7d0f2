package recorder

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// packets lists every packet of a file per stream as "size,md5" (from
// ffmpeg's framemd5 muxer, no decoding), in stream order.
func packets(t *testing.T, path string) map[string][]string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0", "-c", "copy", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("framemd5 %s: %v", path, err)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 6 {
			t.Fatalf("framemd5 line %q", line)
		}
		got[strings.TrimSpace(f[0])] = append(got[strings.TrimSpace(f[0])], strings.TrimSpace(f[4])+","+strings.TrimSpace(f[5]))
	}
	return got
}

// TestConcatRemux joins the recorder's own segments, the last one torn in
// the middle of a fragment as after a crash, without demuxing: the joined
// file holds exactly the segments' packets, byte for byte and in order, has
// its moov first, decodes without an error and lasts as long as they do.
func TestConcatRemux(t *testing.T) {
	dir := t.TempDir()
	segs := record(t, dir, testSamples(t), 4*time.Second)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	var paths []string
	for _, s := range segs {
		paths = append(paths, s.Path)
	}
	last := paths[len(paths)-1]
	info, err := inspectMP4(last)
	if err != nil {
		t.Fatal(err)
	}
	// Tear the last segment: half of its last fragment's mdat is gone.
	k := len(info.Boxes) - 1
	for k > 0 && info.Boxes[k].Type != "mdat" {
		k--
	}
	lastBox, fragStart := info.Boxes[k], info.Boxes[k-1].Off
	if info.Boxes[k-1].Type != "moof" {
		t.Fatalf("boxes %v", info.Boxes)
	}
	if err := os.Truncate(last, lastBox.Off+lastBox.Size/2); err != nil {
		t.Fatal(err)
	}
	// What the join must hold: every packet of every (recovered) segment.
	want := map[string][]string{}
	var total float64
	for _, p := range paths {
		if p == last {
			fixed := filepath.Join(dir, "fixed.mp4")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(fixed, data[:fragStart], 0o644); err != nil {
				t.Fatal(err)
			}
			p = fixed
		}
		for s, pk := range packets(t, p) {
			want[s] = append(want[s], pk...)
		}
		total += probeSegment(t, p, 0).Video().Duration
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(dir, "joined.mp4")
	if err := remuxConcat(ctx, paths, out); err != nil {
		t.Fatalf("remux: %v", err)
	}
	got := packets(t, out)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("streams: joined %d, segments %d; want video and audio", len(got), len(want))
	}
	for s, w := range want {
		g := got[s]
		if len(g) != len(w) {
			t.Errorf("stream %s: %d packets, segments have %d", s, len(g), len(w))
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("stream %s packet %d: %s, segment has %s", s, i, g[i], w[i])
				break
			}
		}
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	boxes, err := readBoxes(f, 0, st.Size())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, b := range boxes {
		types = append(types, b.Type)
	}
	if strings.Join(types, " ") != "ftyp moov mdat" || boxes[len(boxes)-1].end() != st.Size() {
		t.Errorf("boxes %v of %d bytes: want ftyp moov mdat", boxes, st.Size())
	}
	if msg, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(msg) > 0 {
		t.Errorf("decoding the join: %v: %s", err, msg)
	}
	v := probeSegment(t, out, 0).Video()
	if v == nil || v.Duration < total-0.1 || v.Duration > total+0.1 {
		t.Errorf("joined video %+v, segments last %.3f s", v, total)
	}
}

// TestConcatRemuxRefusesChangedCodec: segments whose sample descriptions
// differ are not joined directly (Concat then uses GStreamer).
func TestConcatRemuxRefusesChangedCodec(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.mp4")
	b := filepath.Join(dir, "b.mp4")
	for _, s := range []struct{ path, size string }{{a, "320x240"}, {b, "640x360"}} {
		cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size="+s.size+":rate=30",
			"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
			"-movflags", "+frag_keyframe+empty_moov+default_base_moof", s.path)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, msg)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := remuxConcat(ctx, []string{a, b}, filepath.Join(dir, "out.mp4")); !errors.Is(err, errRemux) {
		t.Errorf("remux of different codecs = %v, want a refusal", err)
	}
	if err := remuxConcat(ctx, []string{a, a}, filepath.Join(dir, "out.mp4")); err != nil {
		t.Errorf("remux of one codec: %v", err)
	}
}

// TestConcatFallsBackToGStreamer: segments that are not fragmented cannot
// be joined directly; Concat joins them with GStreamer, index in front.
func TestConcatFallsBackToGStreamer(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"a.mp4", "b.mp4"} {
		p := filepath.Join(dir, name)
		cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
			"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", p)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, msg)
		}
		paths = append(paths, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := filepath.Join(dir, "out.mp4")
	if err := remuxConcat(ctx, paths, out); !errors.Is(err, errRemux) {
		t.Fatalf("direct join of plain mp4 = %v, want a refusal", err)
	}
	if err := Concat(ctx, paths, out); err != nil {
		t.Fatal(err)
	}
	info, err := inspectMP4(out)
	if err != nil {
		t.Fatal(err)
	}
	moov, mdat := -1, -1
	for i, b := range info.Boxes {
		if b.Type == "moov" && moov < 0 {
			moov = i
		}
		if b.Type == "mdat" && mdat < 0 {
			mdat = i
		}
	}
	if moov < 0 || mdat < moov {
		t.Errorf("boxes %v: want the moov before the mdat", info.Boxes)
	}
	if info.Duration < 1900*time.Millisecond || info.Duration > 2100*time.Millisecond {
		t.Errorf("joined file lasts %s, want 2 s", info.Duration)
	}
}
