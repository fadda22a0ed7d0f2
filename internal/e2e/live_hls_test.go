package e2e

import (
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

var (
	hlsTarget = regexp.MustCompile(`#EXT-X-TARGETDURATION:(\d+)`)
	hlsSeq    = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
	hlsInf    = regexp.MustCompile(`#EXTINF:([0-9.]+),\n([^\n#]+)`)
	hlsMap    = regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`)
	hlsPDT    = regexp.MustCompile(`#EXT-X-PROGRAM-DATE-TIME:([^\n]+)`)
)

func httpGet(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// soak is how long the HLS test follows the playlist: MOSAIC_LIVE_SOAK
// (a Go duration) or two minutes.
func soak(t *testing.T) time.Duration {
	if v := os.Getenv("MOSAIC_LIVE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MOSAIC_LIVE_SOAK: %v", err)
		}
		return d
	}
	return 2 * time.Minute
}

// TestHLSKeepsUp: the node serves LL-HLS of a live room behind a view
// token; for the soak time the playlist stays valid (segments within the
// target duration, media sequence moving on), its newest segment keeps up
// with the wall clock, and segments decode to the publisher's picture.
func TestHLSKeepsUp(t *testing.T) {
	s := startServer(t, "--width", "640", "--height", "360", "--video-bitrate", "800", "--hls-token-required")
	s.publishLoop(t, "tv", filepath.Join(testenv.Inputs(t), "p1.webm"))
	base := s.base + "/rooms/tv/hls/"
	if code, _, _ := httpGet(t, base+"index.m3u8"); code != http.StatusUnauthorized {
		t.Errorf("HLS without a token: %d, want 401", code)
	}
	q := "?token=" + s.token("tv", "view")
	code, hdr, index := httpGet(t, base+"index.m3u8"+q)
	if code != 200 || !strings.Contains(hdr.Get("Content-Type"), "mpegurl") {
		t.Fatalf("index: %d %q %s", code, hdr.Get("Content-Type"), index)
	}
	var media string
	for _, line := range strings.Split(string(index), "\n") {
		if strings.HasPrefix(line, "video") {
			media = base + line
			break
		}
	}
	if media == "" || !strings.Contains(media, "token=") {
		t.Fatalf("no tokenized video playlist in:\n%s", index)
	}

	dur := soak(t)
	deadline := time.Now().Add(dur)
	firstSeq, lastSeq, polls := -1, -1, 0
	var lastPDT time.Time
	var lags []float64
	var pl string
	for time.Now().Before(deadline) {
		code, hdr, b := httpGet(t, media)
		if code != 200 {
			t.Fatalf("media playlist: %d %s", code, b)
		}
		if hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("media playlist Cache-Control %q", hdr.Get("Cache-Control"))
		}
		pl = string(b)
		polls++
		target := atoiMatch(t, hlsTarget.FindStringSubmatch(pl))
		for _, m := range hlsInf.FindAllStringSubmatch(pl, -1) {
			if d, _ := strconv.ParseFloat(m[1], 64); d > float64(target)+0.5 {
				t.Errorf("segment %s lasts %.2fs, target %ds", m[2], d, target)
			}
		}
		if polls == 3 {
			// This client is the room's one viewer, in the API and the live status.
			if n := roomViewers(t, s, "tv"); n != 1 {
				t.Errorf("GET /api/rooms/tv while an HLS client polls: %d viewers, want 1", n)
			}
			var live struct {
				Viewers    int `json:"viewers"`
				HLSViewers int `json:"hls_viewers"`
			}
			if code := s.call("GET", "/rooms/tv/live"+q, "", nil, &live); code != 200 || live.Viewers != 1 || live.HLSViewers != 1 {
				t.Errorf("live status while an HLS client polls: %d %+v, want 1 viewer, 1 over HLS", code, live)
			}
		}
		seq := atoiMatch(t, hlsSeq.FindStringSubmatch(pl))
		if seq < lastSeq {
			t.Errorf("media sequence went back from %d to %d", lastSeq, seq)
		}
		if firstSeq < 0 {
			firstSeq = seq
		}
		lastSeq = seq
		// How far behind the wall clock the newest segment starts.
		if pdts := hlsPDT.FindAllStringSubmatch(pl, -1); len(pdts) > 0 {
			if ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(pdts[len(pdts)-1][1])); err == nil {
				lastPDT = ts
				lags = append(lags, time.Since(ts).Seconds())
			}
		}
		time.Sleep(time.Second)
	}
	t.Logf("followed %s: %d polls, media sequence %d → %d, newest segment start behind the clock: %v",
		dur, polls, firstSeq, lastSeq, summarize(lags))
	if lastSeq <= firstSeq {
		t.Errorf("media sequence did not move in %s (%d)", dur, firstSeq)
	}
	if lastPDT.IsZero() || time.Since(lastPDT) > 10*time.Second {
		t.Errorf("newest segment started %s ago: the stream does not keep up", time.Since(lastPDT))
	}

	// A segment decodes to the publisher's picture.
	mp := hlsMap.FindStringSubmatch(pl)
	segs := hlsInf.FindAllStringSubmatch(pl, -1)
	if mp == nil || len(segs) == 0 {
		t.Fatalf("no init or segments:\n%s", pl)
	}
	_, hdr, initData := httpGet(t, base+mp[1])
	if !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Errorf("init Cache-Control %q", hdr.Get("Cache-Control"))
	}
	_, _, seg := httpGet(t, base+strings.TrimSpace(segs[len(segs)-1][2]))
	path := filepath.Join(t.TempDir(), "seg.mp4")
	if err := os.WriteFile(path, append(initData, seg...), 0o644); err != nil {
		t.Fatal(err)
	}
	info := mediatest.Probe(t, path)
	if v := info.Video(); v == nil || v.CodecName != "h264" || v.Width != 640 || v.Height != 360 {
		t.Errorf("segment video %+v", info.Streams)
	}
	// Audio is its own rendition (CMAF: one track per stream).
	am := regexp.MustCompile(`#EXT-X-MEDIA:TYPE=AUDIO[^\n]*URI="([^"]+)"`).FindStringSubmatch(string(index))
	if am == nil {
		t.Fatalf("no audio rendition in:\n%s", index)
	}
	_, _, apl := httpGet(t, base+am[1])
	amp, asegs := hlsMap.FindStringSubmatch(string(apl)), hlsInf.FindAllStringSubmatch(string(apl), -1)
	if amp == nil || len(asegs) == 0 {
		t.Fatalf("audio playlist without init or segments:\n%s", apl)
	}
	_, _, ainit := httpGet(t, base+amp[1])
	_, _, aseg := httpGet(t, base+strings.TrimSpace(asegs[len(asegs)-1][2]))
	apath := filepath.Join(t.TempDir(), "audio.mp4")
	if err := os.WriteFile(apath, append(ainit, aseg...), 0o644); err != nil {
		t.Fatal(err)
	}
	if a := mediatest.Probe(t, apath).Audio(); a == nil || a.CodecName != "aac" || a.SampleRate != 48000 {
		t.Errorf("audio segment: %+v", a)
	}
	// The client stops: it leaves the room's viewers (3 target durations).
	stopped := time.Now()
	for roomViewers(t, s, "tv") != 0 {
		if time.Since(stopped) > 15*time.Second {
			t.Fatalf("HLS client still counted as a viewer 15 s after its last request")
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("HLS viewer gone from the room %.1f s after its last request", time.Since(stopped).Seconds())

	frames := mediatest.Frames(t, path, 160, 90, 10)
	visible := 0
	for _, f := range frames {
		if !mediatest.IsBlack(f, 160, image.Rect(20, 10, 140, 80)) {
			visible++
		}
	}
	if len(frames) < 5 || visible < len(frames)*8/10 {
		t.Errorf("segment: %d frames, %d show the publisher", len(frames), visible)
	}
}

// roomViewers is the room's viewer count in the API.
func roomViewers(t *testing.T, s *server, room string) int {
	t.Helper()
	var info struct {
		Viewers int `json:"viewers"`
	}
	if code := s.call("GET", "/api/rooms/"+room, s.admin, nil, &info); code != 200 {
		t.Fatalf("GET /api/rooms/%s: %d", room, code)
	}
	return info.Viewers
}

func atoiMatch(t *testing.T, m []string) int {
	t.Helper()
	if m == nil {
		t.Fatal("playlist tag missing")
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

func summarize(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	lo, hi, sum := v[0], v[0], 0.0
	for _, x := range v {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	return fmt.Sprintf("min %.2fs mean %.2fs max %.2fs", lo, sum/float64(len(v)), hi)
}
