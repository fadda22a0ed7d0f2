package hls

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// rooms is a real mixer per room name.
type rooms struct {
	mu sync.Mutex
	m  map[string]*mixer.Mixer
}

type mixerSource struct{ *mixer.Mixer }

func (s mixerSource) StreamInfo() media.StreamInfo { return s.Info() }

func (r *rooms) Source(name string) (Source, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.m[name]
	if !ok {
		return nil, false
	}
	return mixerSource{m}, true
}

func startMixer(t *testing.T, room string) *mixer.Mixer {
	t.Helper()
	m, err := mixer.New(mixer.Config{Room: room, Width: 320, Height: 240, FPS: 30, VideoBitrateKbps: 400,
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

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return resp, b
}

var (
	reTarget  = regexp.MustCompile(`#EXT-X-TARGETDURATION:(\d+)`)
	reSeq     = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
	reExtinf  = regexp.MustCompile(`#EXTINF:([0-9.]+),`)
	reMap     = regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`)
	rePartInf = regexp.MustCompile(`#EXT-X-PART-INF:PART-TARGET=([0-9.]+)`)
)

// mediaPlaylist is the video rendition named by the multivariant playlist.
func mediaPlaylist(t *testing.T, base, index string) string {
	t.Helper()
	for _, line := range strings.Split(index, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			return base + line
		}
	}
	t.Fatalf("no variant in multivariant playlist:\n%s", index)
	return ""
}

func TestPlaylistSlidesAndSegmentsDecode(t *testing.T) {
	m := startMixer(t, "live")
	srv, err := New(Config{Rooms: &rooms{m: map[string]*mixer.Mixer{"live": m}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Close)
	base := hs.URL + "/rooms/live/hls/"

	resp, body := get(t, base+"index.m3u8")
	if resp.StatusCode != 200 {
		t.Fatalf("index: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("index content type %q", ct)
	}
	if o := resp.Header.Get("Access-Control-Allow-Origin"); o != "*" {
		t.Errorf("index Access-Control-Allow-Origin %q, want *", o)
	}
	if !strings.Contains(string(body), "avc1.") || !strings.Contains(string(body), "mp4a.40.2") {
		t.Errorf("multivariant playlist lacks H264 + AAC codecs:\n%s", body)
	}
	media := mediaPlaylist(t, base, string(body))

	// Wait until the window holds a few segments.
	var pl string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, b := get(t, media)
		if resp.StatusCode != 200 {
			t.Fatalf("media playlist: %d %s", resp.StatusCode, b)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("media playlist Cache-Control %q, want no-cache", cc)
		}
		pl = string(b)
		if len(reExtinf.FindAllString(pl, -1)) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 3 segments after 30s:\n%s", pl)
		}
		time.Sleep(500 * time.Millisecond)
	}
	target := atoi(t, reTarget.FindStringSubmatch(pl))
	for _, d := range reExtinf.FindAllStringSubmatch(pl, -1) {
		v, _ := strconv.ParseFloat(d[1], 64)
		if v <= 0 || v > float64(target)+0.5 {
			t.Errorf("segment of %.3fs exceeds target duration %ds", v, target)
		}
	}
	if p := rePartInf.FindStringSubmatch(pl); p == nil {
		t.Errorf("no EXT-X-PART-INF (not low-latency):\n%s", pl)
	}
	if !strings.Contains(pl, "#EXT-X-PART:") || !strings.Contains(pl, "#EXT-X-PRELOAD-HINT") {
		t.Errorf("no parts or preload hint:\n%s", pl)
	}
	seq0 := atoi(t, reSeq.FindStringSubmatch(pl))

	// The init file and the newest complete segment decode as H264 + AAC.
	initURI := reMap.FindStringSubmatch(pl)
	if initURI == nil {
		t.Fatalf("no EXT-X-MAP:\n%s", pl)
	}
	resp, initData := get(t, base+initURI[1])
	if resp.StatusCode != 200 || len(initData) == 0 {
		t.Fatalf("init: %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("init Cache-Control %q, want immutable", cc)
	}
	segs := segmentURIs(pl)
	if len(segs) == 0 {
		t.Fatalf("no segment URIs:\n%s", pl)
	}
	resp, seg := get(t, base+segs[len(segs)-1])
	if resp.StatusCode != 200 || len(seg) == 0 {
		t.Fatalf("segment: %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("segment Cache-Control %q, want immutable", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("segment content type %q", ct)
	}
	path := filepath.Join(t.TempDir(), "seg.mp4")
	if err := os.WriteFile(path, append(append([]byte{}, initData...), seg...), 0o644); err != nil {
		t.Fatal(err)
	}
	info := mediatest.Probe(t, path)
	if v := info.Video(); v == nil || v.CodecName != "h264" || v.Width != 320 || v.Height != 240 {
		t.Errorf("segment video: %+v", info.Streams)
	}
	if info.Duration < 0.5 {
		t.Errorf("segment lasts %.2fs", info.Duration)
	}
	frames := mediatest.Frames(t, path, 320, 240, 30)
	if len(frames) < 15 {
		t.Errorf("segment decodes to %d frames", len(frames))
	}

	// The window slides.
	time.Sleep(3 * time.Second)
	_, b := get(t, media)
	if seq1 := atoi(t, reSeq.FindStringSubmatch(string(b))); seq1 <= seq0 {
		t.Errorf("media sequence did not advance: %d then %d", seq0, seq1)
	}

	// Unknown files and rooms.
	if resp, _ := get(t, base+"nope.mp4"); resp.StatusCode != 404 {
		t.Errorf("unknown file: %d", resp.StatusCode)
	}
	if resp, _ := get(t, hs.URL+"/rooms/other/hls/index.m3u8"); resp.StatusCode != 404 {
		t.Errorf("unknown room: %d", resp.StatusCode)
	}
	if srv.Muxers() != 1 {
		t.Errorf("%d muxers, want 1", srv.Muxers())
	}
}

func TestMuxerEndsWithRoom(t *testing.T) {
	m := startMixer(t, "short")
	srv, err := New(Config{Rooms: &rooms{m: map[string]*mixer.Mixer{"short": m}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	mx, err := srv.Muxer("short")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := mx.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("muxer still running after its room closed")
	}
	if srv.Muxers() != 0 {
		t.Errorf("%d muxers running", srv.Muxers())
	}
}

func TestTokenRequired(t *testing.T) {
	m := startMixer(t, "secret")
	iss, err := auth.NewIssuer(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Rooms: &rooms{m: map[string]*mixer.Mixer{"secret": m}}, Issuer: iss, TokenRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Close()
	view, _ := iss.Mint("secret", "v", auth.RoleView, time.Hour)
	other, _ := iss.Mint("elsewhere", "v", auth.RoleView, time.Hour)
	base := hs.URL + "/rooms/secret/hls/index.m3u8"
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"none", "", 401},
		{"garbage", "?token=abc", 401},
		{"other room", "?token=" + other, 403},
		{"view", "?token=" + view, 200},
	} {
		resp, body := get(t, base+tc.query)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if tc.want == 200 && !strings.Contains(string(body), "token="+view) {
			t.Errorf("variant URIs do not carry the token:\n%s", body)
		}
	}
}

func segmentURIs(pl string) []string {
	var out []string
	for _, line := range strings.Split(pl, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func atoi(t *testing.T, m []string) int {
	t.Helper()
	if m == nil {
		t.Fatal("playlist tag missing")
	}
	v, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return v
}
