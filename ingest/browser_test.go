package ingest

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
)

// browserPage is the WHIP/WHEP client a browser runs.
const browserPage = `<!doctype html><script>
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(r => {
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 5000);
  });
}
async function negotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const resp = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
  const body = await resp.text();
  if (resp.status !== 201) return 'status ' + resp.status + ': ' + body;
  await pc.setRemoteDescription({type: 'answer', sdp: body});
  return 'ok';
}
async function publish(url, token) {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, {direction: 'sendonly'});
  window.publisher = pc;
  return negotiate(pc, url, token);
}
async function view(url, token) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  window.viewer = pc;
  return negotiate(pc, url, token);
}
async function decoded() {
  const stats = await window.viewer.getStats();
  let out = 'none';
  stats.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out = (s.framesDecoded || 0) + ' ' + (s.frameWidth || 0) + 'x' + (s.frameHeight || 0);
  });
  return out;
}
</script>`

// A real browser publishes to WHIP and decodes the WHEP composite.
func TestBrowserPublishesAndViews(t *testing.T) {
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is part of the test environment: %v", err)
	}
	h := newHarness(t)
	h.rooms.addLive(t, "stage")
	mux := http.NewServeMux()
	h.srv.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, browserPage)
	})
	site := newHTTPServer(t, mux)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	eval := func(js string) string {
		t.Helper()
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return res
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(site.URL+"/")); err != nil {
		t.Fatalf("open page: %v", err)
	}

	if res := eval(fmt.Sprintf("publish('/rooms/lobby/whip', %q)", h.token(t, "lobby", auth.RolePublish))); res != "ok" {
		t.Fatalf("browser publish: %s", res)
	}
	v := firstSink(t, h, media.Video)
	a := firstSink(t, h, media.Audio)
	growing(t, v, "browser video")
	growing(t, a, "browser audio")
	t.Logf("browser publishes %s and %s", v.info.MimeType, a.info.MimeType)

	if res := eval(fmt.Sprintf("view('/rooms/stage/whep', %q)", h.token(t, "stage", auth.RoleView))); res != "ok" {
		t.Fatalf("browser view: %s", res)
	}
	var last string
	waitFor(t, "the browser decoding 60 composite frames", 60*time.Second, func() bool {
		last = eval("decoded()")
		var n int
		fmt.Sscan(last, &n)
		return n >= 60
	})
	if !strings.HasSuffix(last, " 320x240") {
		t.Errorf("browser decodes %s, want 320x240 frames", last)
	}
	t.Logf("browser viewer: %s", last)
}
