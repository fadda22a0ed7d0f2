package publisher

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "secret-token"

func TestPublishFile(t *testing.T) {
	srv := newTestServer(t, testToken)
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := Publish(ctx, Options{
		URL: srv.url("whip"), Token: testToken, File: clip(t),
		Duration: 3 * time.Second, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v", st)
	sess, deleted := srv.session(1)
	if sess == nil {
		t.Fatal("no session on the server")
	}
	if !deleted {
		t.Error("session was not deleted")
	}
	// Let the last packets arrive before reading the server's counters.
	time.Sleep(300 * time.Millisecond)
	frames, audio := sess.videoFrames.Load(), sess.audioPackets.Load()
	t.Logf("server: %d video frames (%d packets, %d keyframes), %d audio packets, SRs video %d audio %d",
		frames, sess.videoPackets.Load(), sess.keyframes.Load(), audio, sess.videoSRs.Load(), sess.audioSRs.Load())
	if frames < 75 || frames > 105 {
		t.Errorf("server got %d video frames, want 90±15", frames)
	}
	if audio < 130 || audio > 170 {
		t.Errorf("server got %d audio packets, want 150±20", audio)
	}
	if sess.keyframes.Load() < 1 {
		t.Error("server saw no keyframe")
	}
	if sess.videoSRs.Load() < 1 || sess.audioSRs.Load() < 1 {
		t.Errorf("sender reports: video %d audio %d, want both ≥1", sess.videoSRs.Load(), sess.audioSRs.Load())
	}
	// Lip-sync on the wire: by the sender reports, the first video and audio
	// packets left at the instants the file's timestamps say.
	vStart, okV := sess.mediaStart(true, 90000)
	aStart, okA := sess.mediaStart(false, 48000)
	want := firstPTS(t, clip(t), true) - firstPTS(t, clip(t), false)
	if !okV || !okA {
		t.Error("no sender-report mapping for both tracks")
	} else if got := vStart.Sub(aStart); (got - want).Abs() > 20*time.Millisecond {
		t.Errorf("video starts %v after audio by the sender reports, file says %v", got, want)
	} else {
		t.Logf("video starts %v after audio (file: %v)", got, want)
	}
	if st.VideoFrames < 88 || st.VideoFrames > 92 || st.AudioFrames < 148 || st.AudioFrames > 152 {
		t.Errorf("sent %d video / %d audio frames, want 90 / 150", st.VideoFrames, st.AudioFrames)
	}
	if st.Duration < 2900*time.Millisecond || st.Duration > 3100*time.Millisecond {
		t.Errorf("media duration %v, want 3s", st.Duration)
	}
	if st.PacketsSent < int(frames+audio) {
		t.Errorf("packets sent %d < packets received %d", st.PacketsSent, frames+audio)
	}
	if st.RTT <= 0 || st.RTT > time.Second {
		t.Errorf("RTT from receiver reports: %v", st.RTT)
	}
	if st.SetupTime <= 0 || st.SetupTime > 20*time.Second {
		t.Errorf("setup time %v", st.SetupTime)
	}
	if lines := strings.Count(progress.String(), "\n"); lines < 2 || !strings.Contains(progress.String(), "packets") {
		t.Errorf("progress output %q", progress.String())
	}
}

func TestPublishFileLoop(t *testing.T) {
	// A 1 s cut of the reference clip (stream copy), looped to 2.5 s: two seams.
	short := filepath.Join(t.TempDir(), "short.webm")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", clip(t), "-t", "1", "-c", "copy", short)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	srv := newTestServer(t, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, File: short, Loop: true, Duration: 2500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st.VideoFrames < 73 || st.VideoFrames > 77 || st.AudioFrames < 122 || st.AudioFrames > 128 {
		t.Errorf("sent %d video / %d audio frames over 2.5 s of a looped 1 s clip, want 75 / 125", st.VideoFrames, st.AudioFrames)
	}
	if st.Duration < 2450*time.Millisecond || st.Duration > 2550*time.Millisecond {
		t.Errorf("media duration %v, want 2.5s", st.Duration)
	}
	time.Sleep(300 * time.Millisecond)
	sess, _ := srv.session(1)
	// one keyframe per pass
	if k := sess.keyframes.Load(); k < 3 {
		t.Errorf("server saw %d keyframes, want 3 (one per pass)", k)
	}
}

func TestPublishUnauthorized(t *testing.T) {
	srv := newTestServer(t, testToken)
	_, err := Publish(context.Background(), Options{URL: srv.url("whip"), Token: "wrong", File: clip(t)})
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v (%T), want *HTTPError", err, err)
	}
	if he.Status != http.StatusUnauthorized || he.Message != "invalid or missing token" {
		t.Errorf("got %d %q", he.Status, he.Message)
	}
}

func TestPublishBadOptions(t *testing.T) {
	cases := map[string]Options{
		"no source":    {URL: "http://127.0.0.1:1/whip"},
		"two sources":  {URL: "http://127.0.0.1:1/whip", File: "x.webm", TestPattern: true},
		"no url":       {TestPattern: true},
		"bad codec":    {URL: "http://127.0.0.1:1/whip", TestPattern: true, Codec: "av1"},
		"negative dur": {URL: "http://127.0.0.1:1/whip", TestPattern: true, Duration: -time.Second},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Publish(context.Background(), o)
			if !errors.Is(err, ErrBadOptions) && !errors.Is(err, ErrNoSource) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestPublishNotWebM(t *testing.T) {
	_, err := Publish(context.Background(), Options{URL: "http://127.0.0.1:1/whip", File: "publish_test.go"})
	if !errors.Is(err, ErrBadWebM) {
		t.Fatalf("err = %v, want ErrBadWebM", err)
	}
}

func TestPublishServerDown(t *testing.T) {
	srv := newTestServer(t, testToken)
	url := srv.url("whip")
	srv.srv.Close()
	_, err := Publish(context.Background(), Options{URL: url, Token: testToken, File: clip(t), ConnectTimeout: 5 * time.Second})
	if err == nil {
		t.Fatal("publish to a closed server succeeded")
	}
}

func TestPublishTestPattern(t *testing.T) {
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			srv := newTestServer(t, testToken)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			st, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, TestPattern: true, Codec: codec, Duration: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			sess, deleted := srv.session(1)
			if sess == nil || !deleted {
				t.Fatalf("session %v deleted %v", sess, deleted)
			}
			mime, _ := sess.videoMime.Load().(string)
			t.Logf("stats %+v; server %s: %d frames, %d keyframes, %d audio packets", st, mime,
				sess.videoFrames.Load(), sess.keyframes.Load(), sess.audioPackets.Load())
			if !strings.EqualFold(mime, "video/"+codec) {
				t.Errorf("server got %q", mime)
			}
			// The drivers tick at 30 fps and 50 audio packets a second; a loaded
			// machine makes the software encoders drop video frames, so the
			// video bound is loose and the oracle is "what was sent arrived" (but
			// for the last frame or two, in flight when the session is deleted).
			if f := sess.videoFrames.Load(); f < 20 || f > 70 || int64(st.VideoFrames)-f > 2 {
				t.Errorf("server got %d video frames in 2 s, publisher sent %d", f, st.VideoFrames)
			}
			if a := sess.audioPackets.Load(); a < 70 || a > 110 || int64(st.AudioFrames)-a > 2 {
				t.Errorf("server got %d audio packets in 2 s, publisher sent %d", a, st.AudioFrames)
			}
			if sess.keyframes.Load() < 1 {
				t.Error("no keyframe")
			}
			if st.VideoBytes == 0 || st.AudioBytes == 0 {
				t.Errorf("bytes %d/%d", st.VideoBytes, st.AudioBytes)
			}
		})
	}
}

// firstPTS is the timestamp of the first video or audio frame of a file.
func firstPTS(t *testing.T, path string, video bool) time.Duration {
	t.Helper()
	r, err := openWebM(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		f, err := r.next()
		if err != nil {
			t.Fatalf("no %v frame: %v", video, err)
		}
		if f.video == video {
			return f.pts
		}
	}
}

// A server without H.264 refuses the video track: a precise error, and the
// session it created is deleted.
func TestPublishCodecRefused(t *testing.T) {
	srv := newTestServer(t, testToken)
	srv.vp8Only = true
	_, err := Publish(context.Background(), Options{URL: srv.url("whip"), Token: testToken, TestPattern: true, Codec: "h264"})
	if !errors.Is(err, ErrTrackRefused) || !strings.Contains(err.Error(), "video") {
		t.Fatalf("err = %v, want ErrTrackRefused for video", err)
	}
	if _, deleted := srv.session(1); !deleted {
		t.Error("refused session not deleted")
	}
}

// NACKs and PLIs from the server are counted (the file source cannot make a
// keyframe; the NACK is answered from pion's send buffer).
func TestPublishCountsFeedback(t *testing.T) {
	srv := newTestServer(t, testToken)
	srv.feedback = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, File: clip(t), Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if st.NACKsReceived != 1 || st.PLIsReceived != 1 {
		t.Errorf("NACKs %d PLIs %d, want 1 and 1", st.NACKsReceived, st.PLIsReceived)
	}
}
