package publisher

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// h264Clip transcodes the first seconds of the reference clip to H.264 in
// Matroska with the given extra x264 arguments.
func h264Clip(t *testing.T, secs string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "h264.mkv")
	cmdArgs := append([]string{"-hide_banner", "-loglevel", "error", "-y", "-i", clip(t), "-t", secs,
		"-c:v", "libx264", "-g", "30"}, args...)
	cmdArgs = append(cmdArgs, "-c:a", "copy", out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "ffmpeg", cmdArgs...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	return out
}

func TestPublishH264File(t *testing.T) {
	path := h264Clip(t, "3", "-preset", "ultrafast", "-bf", "0")
	srv := newTestServer(t, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, File: path})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	sess, deleted := srv.session(1)
	if sess == nil || !deleted {
		t.Fatalf("session %v deleted %v", sess, deleted)
	}
	mime, _ := sess.videoMime.Load().(string)
	t.Logf("stats %+v; server %s: %d frames, %d keyframe packets, %d audio", st, mime,
		sess.videoFrames.Load(), sess.keyframes.Load(), sess.audioPackets.Load())
	if !strings.EqualFold(mime, "video/H264") {
		t.Errorf("server got %q", mime)
	}
	if f := sess.videoFrames.Load(); f < 75 || f > 105 {
		t.Errorf("server got %d video frames, want 90±15", f)
	}
	// -g 30: a keyframe every second, each with SPS/PPS and an IDR slice.
	if k := sess.keyframes.Load(); k < 3 {
		t.Errorf("server saw %d IDR packets, want ≥3", k)
	}
	if a := sess.audioPackets.Load(); a < 130 || a > 170 {
		t.Errorf("server got %d audio packets, want 150±20", a)
	}
}

func TestPublishH264BFramesRefused(t *testing.T) {
	path := h264Clip(t, "1", "-preset", "veryfast", "-bf", "2")
	_, err := Publish(context.Background(), Options{URL: "http://127.0.0.1:1/whip", File: path, ConnectTimeout: 5 * time.Second})
	if !errors.Is(err, ErrBadWebM) || !strings.Contains(err.Error(), "B-frames") {
		t.Fatalf("err = %v, want ErrBadWebM about B-frames", err)
	}
}

func TestAVCConfig(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xC0, 0x1F, 0xAA}
	pps := []byte{0x68, 0xCE, 0x38, 0x80}
	rec := append([]byte{1, 0x42, 0xC0, 0x1F, 0xFF, 0xE1, 0, byte(len(sps))}, sps...)
	rec = append(append(rec, 1, 0, byte(len(pps))), pps...)
	c, err := parseAVCConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.lengthSize != 4 || len(c.sps) != 1 || len(c.pps) != 1 || !strings.Contains(c.fmtp(), "42e01f") {
		t.Fatalf("config %+v fmtp %s", c, c.fmtp())
	}
	idr := []byte{0, 0, 0, 3, 0x65, 0x88, 0x84}
	out, key, err := c.annexB(idr)
	if err != nil || !key {
		t.Fatalf("annexB: key %v err %v", key, err)
	}
	want := "\x00\x00\x00\x01" + string(sps) + "\x00\x00\x00\x01" + string(pps) + "\x00\x00\x00\x01\x65\x88\x84"
	if string(out) != want {
		t.Errorf("annexB = %x, want %x", out, want)
	}
	for name, bad := range map[string][]byte{"short": {0, 0, 0, 9, 0x65}, "zero": {0, 0, 0, 0}, "partial length": {0, 0}} {
		if _, _, err := c.annexB(bad); !errors.Is(err, ErrBadWebM) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, rec[:9], append([]byte{1, 0x42, 0, 0x1F, 0xFE, 0xE0, 0}, 0)} {
		if _, err := parseAVCConfig(bad); !errors.Is(err, ErrBadWebM) {
			t.Errorf("record %x: err = %v", bad, err)
		}
	}
}
