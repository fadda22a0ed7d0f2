package e2e

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

type outputView struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
	Attempts  int    `json:"attempts"`
	URL       string `json:"url"`
}

// TestRTMPOutput: an admin adds an RTMP output to a live room; an RTMP
// server (ffmpeg) receives the composite, which decodes as H264 + AAC with
// the publisher's picture; deleting the output ends the server's stream.
func TestRTMPOutput(t *testing.T) {
	s := startServer(t, "--width", "640", "--height", "360", "--video-bitrate", "800")
	s.publishLoop(t, "show", filepath.Join(testenv.Inputs(t), "p1.webm"))

	port := testenv.FreePort(t)
	flv := filepath.Join(t.TempDir(), "received.flv")
	ff := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-f", "flv",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", port), "-c", "copy", "-f", "flv", flv)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	ffDone := make(chan struct{})
	go func() { _ = ff.Wait(); close(ffDone) }()
	t.Cleanup(func() {
		_ = ff.Process.Signal(syscall.SIGINT)
		select {
		case <-ffDone:
		case <-time.After(10 * time.Second):
			_ = ff.Process.Kill()
		}
	})

	var out outputView
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", port)
	if code := s.call("POST", "/api/rooms/show/outputs", s.admin, map[string]string{"url": url}, &out); code != 201 || out.ID == "" {
		t.Fatalf("create output: %d %+v", code, out)
	}
	if code := s.call("POST", "/api/rooms/show/outputs", s.token("show", "view"), map[string]string{"url": url}, nil); code != 403 {
		t.Errorf("view token creates an output: %d", code)
	}
	deadline := time.Now().Add(45 * time.Second)
	for out.State != "live" {
		if time.Now().After(deadline) {
			t.Fatalf("output not live: %+v", out)
		}
		time.Sleep(300 * time.Millisecond)
		s.call("GET", "/api/rooms/show/outputs/"+out.ID, s.admin, nil, &out)
	}
	time.Sleep(5 * time.Second)
	if code := s.call("DELETE", "/api/rooms/show/outputs/"+out.ID, s.admin, nil, &out); code != 200 || out.State != "stopped" {
		t.Errorf("delete: %d %+v", code, out)
	}
	select {
	case <-ffDone:
	case <-time.After(15 * time.Second):
		t.Errorf("the RTMP server did not see the end of the stream")
	}

	info := mediatest.Probe(t, flv)
	if v := info.Video(); v == nil || v.CodecName != "h264" || v.Width != 640 || v.Height != 360 {
		t.Fatalf("received video %+v", info.Streams)
	}
	if a := info.Audio(); a == nil || a.CodecName != "aac" {
		t.Errorf("received audio %+v", info.Streams)
	}
	if info.Duration < 4 {
		t.Errorf("received %.2fs, pushed about 5s", info.Duration)
	}
	frames := mediatest.Frames(t, flv, 160, 90, 10)
	visible, changed := 0, 0
	for i, f := range frames {
		if !mediatest.IsBlack(f, 160, image.Rect(20, 10, 140, 80)) {
			visible++
		}
		if i > 0 && string(f) != string(frames[i-1]) {
			changed++
		}
	}
	t.Logf("received %.2fs, %d frames at 10 fps, %d show the publisher, %d differ from the previous", info.Duration, len(frames), visible, changed)
	if visible < len(frames)*8/10 {
		t.Errorf("%d of %d frames show the publisher", visible, len(frames))
	}
	if changed < len(frames)/2 {
		t.Errorf("the picture does not move: %d of %d frames changed", changed, len(frames))
	}
}
