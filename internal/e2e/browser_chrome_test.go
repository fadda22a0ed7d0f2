package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// browser is one headless Chromium with a fake camera and microphone; tabs
// are its pages.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is part of the test environment: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Tabs in the background keep their timers and video running.
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		// Host candidates as addresses, not mDNS names the server cannot resolve.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// tab is one page of the browser.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
}

// open opens url in a new tab named name (the screenshot's file name).
func (b *browser) open(name, url string) *tab {
	b.t.Helper()
	ctx, _ := chromedp.NewContext(b.ctx) // closed with the browser
	tb := &tab{t: b.t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("%s: open %s: %v", name, url, err)
	}
	return tb
}

// open navigates the tab to url.
func (tb *tab) open(url string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(url)); err != nil {
		tb.t.Fatalf("%s: open %s: %v", tb.name, url, err)
	}
}

// eval runs JavaScript (awaiting a promise) and decodes its result.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	out, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, js, err)
	}
	return out
}

// waitJS polls a JavaScript condition until it is true.
func (tb *tab) waitJS(what, js string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if eval[bool](tb, "(()=>{try{return !!("+js+")}catch(e){return false}})()") {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.t.Fatalf("%s: still not %s after %s; page says %q", tb.name, what, timeout, tb.text("#msg"))
}

// text is the text of the first element matching sel ("" if none).
func (tb *tab) text(sel string) string {
	s, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q)?.textContent || ''", sel)))
	return strings.TrimSpace(s)
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Click(sel)); err != nil {
		tb.t.Fatalf("%s: click %s: %v", tb.name, sel, err)
	}
}

// videoAdvances waits until the video element plays: currentTime moves on
// by at least 1 s between two looks.
func (tb *tab) videoAdvances(sel string, timeout time.Duration) float64 {
	tb.t.Helper()
	js := fmt.Sprintf("document.querySelector(%q).currentTime", sel)
	tb.waitJS("playing "+sel, js+" > 0.5", timeout)
	t0 := eval[float64](tb, js)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if t1 := eval[float64](tb, js); t1 >= t0+1 {
			return t1
		}
	}
	tb.t.Fatalf("%s: %s currentTime stuck at %.2f", tb.name, sel, eval[float64](tb, js))
	return 0
}

// videoBrightness draws the video into a canvas and returns the mean and
// the maximum of its luma.
func (tb *tab) videoBrightness(sel string) (mean, max float64) {
	tb.t.Helper()
	res := eval[[]float64](tb, fmt.Sprintf(`(() => {
		const v = document.querySelector(%q), c = document.createElement('canvas');
		c.width = 160; c.height = 90;
		const g = c.getContext('2d'); g.drawImage(v, 0, 0, c.width, c.height);
		const d = g.getImageData(0, 0, c.width, c.height).data;
		let sum = 0, max = 0;
		for (let i = 0; i < d.length; i += 4) { const y = 0.299*d[i] + 0.587*d[i+1] + 0.114*d[i+2]; sum += y; if (y > max) max = y; }
		return [sum / (d.length / 4), max];
	})()`, sel))
	return res[0], res[1]
}

// screenshot saves the whole page as test-artifacts/screenshots/NAME.png.
func (tb *tab) screenshot() {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		tb.t.Errorf("%s: screenshot: %v", tb.name, err)
		return
	}
	dir := filepath.Join(testenv.RepoRoot(), "test-artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(dir, tb.name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s (%d bytes)", path, len(png))
}
