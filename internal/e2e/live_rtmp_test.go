package e2e

import (
	"crypto/tls"
	"fmt"
	"image"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
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
	TLS       string `json:"tls"`
}

// TestRTMPOutput: an admin adds an RTMP output and an RTMPS output (to a
// server with a private CA's certificate, given as ca_pem) to a live room;
// the RTMP server (ffmpeg, behind a TLS front for RTMPS) receives the
// composite, which decodes as H264 + AAC with the publisher's picture;
// deleting an output ends the server's stream.
func TestRTMPOutput(t *testing.T) {
	s := startServer(t, "--width", "640", "--height", "360", "--video-bitrate", "800")
	s.publishLoop(t, "show", filepath.Join(testenv.Inputs(t), "p1.webm"))

	plainPort, tlsBackend, tlsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	plainFLV, plainDone := rtmpReceiver(t, plainPort)
	tlsFLV, tlsDone := rtmpReceiver(t, tlsBackend)
	caPEM := tlsFront(t, tlsPort, fmt.Sprintf("127.0.0.1:%d", tlsBackend))

	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", plainPort)
	if code := s.call("POST", "/api/rooms/show/outputs", s.token("show", "view"), map[string]string{"url": url}, nil); code != 403 {
		t.Errorf("view token creates an output: %d", code)
	}
	outs := map[string]*outputView{"rtmp": {}, "rtmps": {}}
	if code := s.call("POST", "/api/rooms/show/outputs", s.admin, map[string]string{"url": url}, outs["rtmp"]); code != 201 || outs["rtmp"].ID == "" {
		t.Fatalf("create output: %d %+v", code, outs["rtmp"])
	}
	surl := fmt.Sprintf("rtmps://127.0.0.1:%d/live/test", tlsPort)
	if code := s.call("POST", "/api/rooms/show/outputs", s.admin, map[string]string{"url": surl, "ca_pem": caPEM}, outs["rtmps"]); code != 201 || outs["rtmps"].TLS != "custom-ca" {
		t.Fatalf("create rtmps output: %d %+v", code, outs["rtmps"])
	}
	deadline := time.Now().Add(45 * time.Second)
	for kind, out := range outs {
		for out.State != "live" {
			if time.Now().After(deadline) {
				t.Fatalf("%s output not live: %+v", kind, out)
			}
			time.Sleep(300 * time.Millisecond)
			s.call("GET", "/api/rooms/show/outputs/"+out.ID, s.admin, nil, out)
		}
	}
	time.Sleep(5 * time.Second)
	for kind, out := range outs {
		if code := s.call("DELETE", "/api/rooms/show/outputs/"+out.ID, s.admin, nil, out); code != 200 || out.State != "stopped" {
			t.Errorf("delete %s: %d %+v", kind, code, out)
		}
	}
	for kind, done := range map[string]chan struct{}{"rtmp": plainDone, "rtmps": tlsDone} {
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("the %s server did not see the end of the stream", kind)
		}
	}

	for kind, flv := range map[string]string{"rtmp": plainFLV, "rtmps": tlsFLV} {
		info := mediatest.Probe(t, flv)
		if v := info.Video(); v == nil || v.CodecName != "h264" || v.Width != 640 || v.Height != 360 {
			t.Fatalf("%s: received video %+v", kind, info.Streams)
		}
		if a := info.Audio(); a == nil || a.CodecName != "aac" {
			t.Errorf("%s: received audio %+v", kind, info.Streams)
		}
		if info.Duration < 4 {
			t.Errorf("%s: received %.2fs, pushed about 5s", kind, info.Duration)
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
		t.Logf("%s: received %.2fs, %d frames at 10 fps, %d show the publisher, %d differ from the previous",
			kind, info.Duration, len(frames), visible, changed)
		if visible < len(frames)*8/10 {
			t.Errorf("%s: %d of %d frames show the publisher", kind, visible, len(frames))
		}
		if changed < len(frames)/2 {
			t.Errorf("%s: the picture does not move: %d of %d frames changed", kind, changed, len(frames))
		}
	}
}

// rtmpReceiver is ffmpeg as an RTMP server on port, writing an FLV file;
// done closes when it exits.
func rtmpReceiver(t *testing.T, port int) (string, chan struct{}) {
	t.Helper()
	flv := filepath.Join(t.TempDir(), fmt.Sprintf("received-%d.flv", port))
	ff := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-f", "flv",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", port), "-c", "copy", "-f", "flv", flv)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = ff.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = ff.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = ff.Process.Kill()
		}
	})
	return flv, done
}

// tlsFront listens for RTMPS on port with a certificate for 127.0.0.1 from
// a CA made here, and copies each connection to backend (plain RTMP). It
// returns the CA's PEM.
func tlsFront(t *testing.T, port int, backend string) string {
	t.Helper()
	caPEM, cert := testenv.TLSCert(t)
	ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				track(b)
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
				<-done
				_ = b.Close()
				_ = c.Close()
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return caPEM
}
