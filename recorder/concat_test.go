package recorder

import (
	"context"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConcatAndThumbnail(t *testing.T) {
	dir := t.TempDir()
	segs := record(t, dir, testSamples(t), 6*time.Second)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	var paths []string
	var total time.Duration
	for _, s := range segs {
		paths = append(paths, s.Path)
		total += s.Duration
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(dir, "composite.mp4")
	if err := Concat(ctx, paths, out); err != nil {
		t.Fatal(err)
	}
	// One file, moov before mdat, no fragments.
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
	order := map[string]int{}
	for i, b := range boxes {
		if _, ok := order[b.Type]; !ok {
			order[b.Type] = i
		}
	}
	t.Logf("top-level boxes: %v", boxes)
	moov, okM := order["moov"]
	mdat, okD := order["mdat"]
	if !okM || !okD || moov > mdat {
		t.Errorf("box order %v: want moov before mdat", boxes)
	}
	if _, frag := order["moof"]; frag {
		t.Errorf("concatenated file is fragmented: %v", boxes)
	}
	if end := boxes[len(boxes)-1].end(); end != st.Size() {
		t.Errorf("boxes end at %d of %d bytes", end, st.Size())
	}
	info := probeSegment(t, out, total)
	if v := info.Video(); v != nil && (v.Duration < total.Seconds()-0.5) {
		t.Errorf("video lasts %.3fs of %s", v.Duration, total)
	}

	for _, video := range []string{out, paths[len(paths)-1]} {
		thumb := filepath.Join(dir, filepath.Base(video)+".jpg")
		if err := Thumbnail(ctx, video, thumb); err != nil {
			t.Fatalf("thumbnail of %s: %v", video, err)
		}
		jf, err := os.Open(thumb)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(jf)
		jf.Close()
		if err != nil {
			t.Fatalf("thumbnail of %s: %v", video, err)
		}
		if b := img.Bounds(); b.Dx() != testW || b.Dy() != testH {
			t.Errorf("thumbnail is %v, want %dx%d", b, testW, testH)
		}
	}
}

func TestConcatThumbnailBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	if err := os.WriteFile(junk, []byte("this is not an mp4 file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	if err := Concat(ctx, nil, out); !errors.Is(err, ErrNoInput) {
		t.Errorf("Concat(nil) = %v, want ErrNoInput", err)
	}
	if err := Concat(ctx, []string{junk}, out); !errors.Is(err, ErrNotMP4) {
		t.Errorf("Concat(junk) = %v, want ErrNotMP4", err)
	}
	if err := Thumbnail(ctx, filepath.Join(dir, "missing.mp4"), out); !errors.Is(err, ErrNoInput) {
		t.Errorf("Thumbnail(missing) = %v, want ErrNoInput", err)
	}
	if err := Thumbnail(ctx, junk, filepath.Join(dir, "t.jpg")); err == nil {
		t.Errorf("Thumbnail(junk) succeeded")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed calls left %s behind", out)
	}
}
