package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// playerState is what the watch page reports about its video element.
type playerState struct {
	Mode        string  `json:"mode"`
	Error       string  `json:"error"`
	Viewers     int     `json:"viewers"`
	CurrentTime float64 `json:"t"`
	Brightness  float64 `json:"brightness"` // mean of a canvas sample, 0..255
	Width       int     `json:"w"`
}

const sampleJS = `(() => {
  const v = document.getElementById('live'), p = window.mosaicPlayer || {};
  let b = -1;
  if (v.videoWidth > 0) {
    const c = document.createElement('canvas'); c.width = 64; c.height = 36;
    const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 36);
    const d = g.getImageData(0, 0, 64, 36).data; let s = 0;
    for (let i = 0; i < d.length; i += 4) s += (d[i] + d[i+1] + d[i+2]) / 3;
    b = s / (d.length / 4);
  }
  return JSON.stringify({mode: p.mode || '', error: p.error || '', viewers: p.viewers || 0,
    t: v.currentTime, brightness: b, w: v.videoWidth});
})()`

// TestWatchPagePlaysWHEPAndHLS: headless Chromium opens the served watch
// page; it plays the room over WHEP (time advances, the picture is not
// black, the viewer count shows), then with ?mode=hls over HLS via the
// vendored hls.js.
func TestWatchPagePlaysWHEPAndHLS(t *testing.T) {
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is part of the test environment: %v", err)
	}
	s := startServer(t, "--width", "640", "--height", "360", "--video-bitrate", "800")
	if code, _, _ := httpGet(t, s.base+"/vendor/hls.min.js"); code != http.StatusOK {
		t.Fatalf("/vendor/hls.min.js: %d — run scripts/vendor-web.sh before building", code)
	}
	s.publishLoop(t, "watch", filepath.Join(testenv.Inputs(t), "p1.webm"))

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	tok := s.token("watch", "view")
	for _, mode := range []string{"whep", "hls"} {
		url := fmt.Sprintf("%s/watch.html?room=watch&token=%s", s.base, tok)
		if mode == "hls" {
			url += "&mode=hls"
		}
		if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		var st, start playerState
		deadline := time.Now().Add(60 * time.Second)
		for {
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](sampleJS))
			if err != nil {
				t.Fatalf("%s: sample: %v", mode, err)
			}
			_ = json.Unmarshal([]byte(raw), &st)
			if start.CurrentTime == 0 && st.CurrentTime > 0 {
				start = st
			}
			if st.Mode == mode && start.CurrentTime > 0 && st.CurrentTime-start.CurrentTime >= 3 && st.Brightness > 20 &&
				(mode != "whep" || st.Viewers >= 1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not playing after 60 s: %+v (started at %+v)", mode, st, start)
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("%s: %+v", mode, st)
		if st.Mode != mode || st.Width != 640 {
			t.Errorf("%s: page plays %q at width %d", mode, st.Mode, st.Width)
		}
	}
}
