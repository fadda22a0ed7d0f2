package rtmp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/mixer"
)

type mixerSource struct{ *mixer.Mixer }

func (s mixerSource) StreamInfo() media.StreamInfo { return s.Info() }

type oneRoom struct {
	name string
	m    *mixer.Mixer
}

func (r oneRoom) Source(name string) (Source, bool) {
	if name != r.name {
		return nil, false
	}
	return mixerSource{r.m}, true
}

// receiver is ffmpeg acting as an RTMP server, writing what it gets to a file.
type receiver struct {
	cmd  *exec.Cmd
	path string
	done chan struct{} // closed when ffmpeg has exited
}

func listen(t *testing.T, port int, path string) *receiver {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-f", "flv",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", port), "-c", "copy", "-f", "flv", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	r := &receiver{cmd: cmd, path: path, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends ffmpeg with SIGINT (it finishes the file) and waits.
func (r *receiver) stop(t *testing.T) {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func startMixer(t *testing.T) *mixer.Mixer {
	t.Helper()
	m, err := mixer.New(mixer.Config{Room: "show", Width: 320, Height: 240, FPS: 30, VideoBitrateKbps: 400,
		KeyframeInterval: time.Second})
	if err != nil {
		t.Fatalf("mixer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

type api struct {
	t     *testing.T
	base  string
	token string
}

func (a api) do(method, path, body string, out any) int {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s %s: content type %q", method, path, ct)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (a api) waitState(id string, want State, timeout time.Duration) Info {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	var info Info
	for {
		if code := a.do("GET", "/api/rooms/show/outputs/"+id, "", &info); code != 200 {
			a.t.Fatalf("get output: %d", code)
		}
		if info.State == want {
			return info
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("output not %s after %s: %+v", want, timeout, info)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPushReconnectsAndDecodes(t *testing.T) {
	m := startMixer(t)
	iss, _ := auth.NewIssuer(bytes.Repeat([]byte("s"), 32))
	mgr, err := New(Config{Rooms: oneRoom{"show", m}, Issuer: iss,
		Backoff: Backoff{Min: 300 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.Close)
	mux := http.NewServeMux()
	mgr.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	admin, _ := iss.Mint("show", "ops", auth.RoleAdmin, time.Hour)
	a := api{t: t, base: hs.URL, token: admin}

	port := testenv.FreePort(t)
	dir := t.TempDir()
	first := listen(t, port, filepath.Join(dir, "first.flv"))
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/test", port)
	var created Info
	if code := a.do("POST", "/api/rooms/show/outputs", `{"url": "`+url+`"}`, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if created.ID == "" || created.State != StateConnecting || strings.Contains(created.URL, "test") {
		t.Errorf("created: %+v (want connecting, key masked)", created)
	}
	a.waitState(created.ID, StateLive, 30*time.Second)
	time.Sleep(3 * time.Second)

	// The receiver goes away: the output notices and retries.
	first.stop(t)
	retry := a.waitState(created.ID, StateRetrying, 30*time.Second)
	if retry.LastError == "" {
		t.Errorf("retrying without an error: %+v", retry)
	}

	// It comes back: the output reconnects on its own.
	second := listen(t, port, filepath.Join(dir, "second.flv"))
	live := a.waitState(created.ID, StateLive, 30*time.Second)
	if live.Attempts < 2 {
		t.Errorf("live again after %d attempts", live.Attempts)
	}
	time.Sleep(3 * time.Second)
	var list struct{ Outputs []Info }
	if code := a.do("GET", "/api/rooms/show/outputs", "", &list); code != 200 || len(list.Outputs) != 1 {
		t.Errorf("list: %d %+v", code, list)
	}
	var stopped Info
	if code := a.do("DELETE", "/api/rooms/show/outputs/"+created.ID, "", &stopped); code != 200 || stopped.State != StateStopped {
		t.Errorf("delete: %d %+v", code, stopped)
	}
	// EOS ends the receiver by itself.
	select {
	case <-second.done:
	case <-time.After(15 * time.Second):
		t.Error("receiver still running after the output was deleted")
		second.stop(t)
	}
	if code := a.do("GET", "/api/rooms/show/outputs/"+created.ID, "", nil); code != 404 {
		t.Errorf("deleted output: %d", code)
	}

	for _, path := range []string{first.path, second.path} {
		info := mediatest.Probe(t, path)
		v, au := info.Video(), info.Audio()
		if v == nil || v.CodecName != "h264" || v.Width != 320 || au == nil || au.CodecName != "aac" {
			t.Errorf("%s: streams %+v", filepath.Base(path), info.Streams)
			continue
		}
		frames := mediatest.Frames(t, path, 320, 240, 30)
		if len(frames) < 45 {
			t.Errorf("%s: %d frames decoded, want ≥ 45 (1.5 s)", filepath.Base(path), len(frames))
		}
	}
}

func TestAPIRejectsBadInput(t *testing.T) {
	m := startMixer(t)
	iss, _ := auth.NewIssuer(bytes.Repeat([]byte("s"), 32))
	mgr, err := New(Config{Rooms: oneRoom{"show", m}, Issuer: iss})
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	mux := http.NewServeMux()
	mgr.Routes(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	admin, _ := iss.Mint("show", "ops", auth.RoleAdmin, time.Hour)
	viewer, _ := iss.Mint("show", "v", auth.RoleView, time.Hour)
	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"no token", "", "POST", "/api/rooms/show/outputs", `{"url":"rtmp://h/app/key"}`, 401},
		{"viewer token", viewer, "POST", "/api/rooms/show/outputs", `{"url":"rtmp://h/app/key"}`, 403},
		{"bad json", admin, "POST", "/api/rooms/show/outputs", `{"url":`, 400},
		{"unknown field", admin, "POST", "/api/rooms/show/outputs", `{"uri":"rtmp://h/app/key"}`, 400},
		{"http scheme", admin, "POST", "/api/rooms/show/outputs", `{"url":"http://h/app/key"}`, 400},
		{"no key", admin, "POST", "/api/rooms/show/outputs", `{"url":"rtmp://h/app"}`, 400},
		{"no host", admin, "POST", "/api/rooms/show/outputs", `{"url":"rtmp:///app/key"}`, 400},
		{"empty", admin, "POST", "/api/rooms/show/outputs", `{}`, 400},
		{"unknown room", admin, "POST", "/api/rooms/other/outputs", `{"url":"rtmp://h/app/key"}`, 403},
		{"unknown output", admin, "DELETE", "/api/rooms/show/outputs/out_x", "", 404},
		{"unknown output get", admin, "GET", "/api/rooms/show/outputs/out_x", "", 404},
	} {
		a := api{t: t, base: hs.URL, token: tc.token}
		if code := a.do(tc.method, tc.path, tc.body, nil); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
	any, _ := iss.Mint(auth.AnyRoom, "ops", auth.RoleAdmin, time.Hour)
	a := api{t: t, base: hs.URL, token: any}
	if code := a.do("POST", "/api/rooms/other/outputs", `{"url":"rtmp://h/app/key"}`, nil); code != 404 {
		t.Errorf("unknown room with a global admin token: %d, want 404", code)
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://a.example/live/abcdef":         "rtmp://a.example/live/ab****",
		"rtmps://u:p@a.example:443/app/k":      "rtmps://a.example:443/app/k****",
		"rtmp://a.example/live/sub/secret?x=1": "rtmp://a.example/live/sub/se****",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
