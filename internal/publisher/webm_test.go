package publisher

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func clip(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.Inputs(t), "p1.webm")
}

func TestWebMReaderFrames(t *testing.T) {
	r, err := openWebM(clip(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.video == nil || r.audio == nil {
		t.Fatalf("tracks: video %v audio %v", r.video, r.audio)
	}
	var video, audio, keys int
	var videoEnd, audioEnd time.Duration
	first := true
	for {
		f, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.video {
			if first && !f.keyframe {
				t.Fatal("first video frame is not a keyframe")
			}
			first = false
			video++
			if f.keyframe {
				keys++
			}
			videoEnd = max(videoEnd, f.pts+f.duration)
		} else {
			audio++
			if f.duration < 19*time.Millisecond || f.duration > 21*time.Millisecond {
				t.Fatalf("audio frame %d duration %v", audio, f.duration)
			}
			audioEnd = max(audioEnd, f.pts+f.duration)
		}
	}
	// 10 s at 30 fps, keyframe every 60 frames; Opus 20 ms packets.
	if video < 295 || video > 305 {
		t.Errorf("video frames = %d, want ~300", video)
	}
	if keys < 5 || keys > 6 {
		t.Errorf("keyframes = %d, want 5", keys)
	}
	if audio < 490 || audio > 505 {
		t.Errorf("audio frames = %d, want ~500", audio)
	}
	for name, end := range map[string]time.Duration{"video": videoEnd, "audio": audioEnd} {
		if end < 9900*time.Millisecond || end > 10100*time.Millisecond {
			t.Errorf("%s ends at %v, want ~10s", name, end)
		}
	}
}

func TestWebMReaderBadInput(t *testing.T) {
	data, err := os.ReadFile(clip(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not a webm file at all"),
		"header":    data[:40],
		"truncated": data[:len(data)/2],
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".webm")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			err := readAll(p)
			if !errors.Is(err, ErrBadWebM) {
				t.Fatalf("err = %v, want ErrBadWebM", err)
			}
		})
	}
	if err := readAll(filepath.Join(dir, "missing.webm")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

// readAll reads every frame of a file and returns the first error.
func readAll(path string) error {
	r, err := openWebM(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if _, err := r.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func FuzzWebMReader(f *testing.F) {
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x80})
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 'w'})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.webm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = readAll(p) // must not panic or hang
	})
}
