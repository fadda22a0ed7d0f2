package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
)

// TestBrowserPages drives the pages as people do, in headless Chromium
// with a fake camera against the real `mosaic serve`: join from the publish
// page, watch the composite play, switch the layout and record from the
// console, then play the finished recording on the recordings page.
func TestBrowserPages(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	b := newBrowser(t, 3*time.Minute)
	t.Logf("server (and binary) ready in %s", time.Since(start).Round(time.Second))
	start = time.Now() // what follows is the browser's part
	phase := func(name string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), name) }
	const room = "web"
	q := func(role string) string {
		return fmt.Sprintf("room=%s&token=%s", room, url.QueryEscape(s.token(room, role)))
	}
	admin := "token=" + url.QueryEscape(s.admin)

	// Home page, with the admin token it keeps for the other pages.
	home := b.open("index", s.base+"/?"+admin)
	home.waitJS("listing rooms", `document.querySelector('#rooms td') && !document.querySelector('#rooms').textContent.includes('loading')`, 20*time.Second)

	phase("publish")
	// Publish with the fake camera.
	pub := b.open("publish", s.base+"/publish.html?"+q("publish"))
	pub.waitJS("listing devices", `document.querySelector('#cam').options.length > 0`, 20*time.Second)
	pub.click("#join")
	pub.waitJS("connected", `document.querySelector('#state').dataset.state === 'connected'`, 30*time.Second)
	if mean, _ := pub.videoBrightness("#self"); mean < 5 {
		t.Errorf("publish page's own camera preview is black (mean luma %.1f)", mean)
	}
	home.waitJS("showing the room with join and watch", `document.querySelector('#rooms tr[data-room="web"] .join') && document.querySelector('#rooms tr[data-room="web"]').textContent.includes('publish-e2e')`, 20*time.Second)

	phase("watch")
	// Watch the composite over WHEP.
	watch := b.open("watch", s.base+"/watch.html?"+q("view"))
	watch.waitJS("connected", `document.querySelector('#state').dataset.state === 'connected'`, 30*time.Second)
	played := watch.videoAdvances("#live", 30*time.Second)
	watch.waitJS("showing the video size", `/\d+x\d+/.test(document.querySelector('#stats').textContent) && !document.querySelector('#stats').textContent.includes(' 0x0')`, 10*time.Second)
	var mean, peak float64
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if mean, peak = watch.videoBrightness("#live"); mean > 10 && peak > 60 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if mean <= 10 || peak <= 60 {
		t.Errorf("composite in the watch page looks black: mean luma %.1f, peak %.1f", mean, peak)
	}
	watch.waitJS("showing the delay", `document.querySelector('#delay').dataset.ms !== undefined`, 10*time.Second)
	t.Logf("watch page: played to %.1f s, luma mean %.0f peak %.0f, %s, %s", played, mean, peak,
		watch.text("#stats"), watch.text("#delay"))

	phase("console")
	// Console: participants with stats, layout, record.
	con := b.open("console", s.base+"/console.html?room="+room)
	con.waitJS("listing the publisher", `document.querySelector('#people tr[data-kind="publisher"]')`, 20*time.Second)
	con.click(`#layouts button[data-layout="speaker"]`)
	con.waitJS("showing the new layout", `document.querySelector('#layoutstate').textContent.includes('speaker')`, 10*time.Second)
	var info struct {
		Layout struct {
			Kind    string `json:"kind"`
			Regions []any  `json:"regions"`
		} `json:"layout"`
	}
	if code := s.call("GET", "/api/rooms/"+room, s.admin, nil, &info); code != http.StatusOK || info.Layout.Kind != "speaker" {
		t.Errorf("after choosing speaker in the console the room's layout is %+v (%d)", info.Layout, code)
	}
	con.click(`#layouts button[data-layout="grid"]`)
	con.waitJS("back on grid", `document.querySelector('#layoutstate').textContent.includes('grid')`, 10*time.Second)

	// RTMP push from the console: to a port nobody listens on, so it is
	// listed as trying (the push itself is tested against a real RTMP
	// server in TestRTMPOutput), then stopped.
	eval[bool](con, `(document.querySelector('#rtmpurl').value = 'rtmp://127.0.0.1:9/live/console-key', true)`)
	con.click("#rtmpstart")
	con.waitJS("listing the RTMP output", `document.querySelector('#outputs li[data-state="connecting"], #outputs li[data-state="retrying"]')`, 15*time.Second)
	con.click("#outputs li button")
	con.waitJS("RTMP output stopped", `!document.querySelector('#outputs li button')`, 15*time.Second)

	eval[bool](con, `(document.querySelector('#tracks').checked = true, true)`) // raw tracks too, to compose below
	con.click("#record")
	con.waitJS("recording", `document.querySelector('#recstate').dataset.state === 'recording' && document.querySelector('#recs li')`, 15*time.Second)
	id := eval[string](con, `document.querySelector('#recs li').dataset.id`)
	time.Sleep(4 * time.Second)
	con.click("#recs li .stop")
	con.waitJS("stopped", `document.querySelector('#recstate').dataset.state === 'idle'`, 15*time.Second)
	con.waitJS("drawing a bitrate graph", `[...document.querySelectorAll('#people td.kbps')].some((td) => parseInt(td.textContent) > 0)`, 10*time.Second)

	phase("recordings")
	// Recordings: ready, with a thumbnail; play it.
	recs := b.open("recordings", s.base+"/recordings.html?"+admin)
	sel := fmt.Sprintf(`#list tr[data-id=%q]`, id)
	// The API says why if it never gets ready (waitState fails on "failed").
	s.waitState(id, "ready", 90*time.Second)
	recs.waitJS("the recording ready", fmt.Sprintf(`document.querySelector('%s[data-state="ready"]')`, sel), 20*time.Second)
	recs.waitJS("the thumbnail loaded", fmt.Sprintf(`document.querySelector('%s td.thumb img')?.naturalWidth > 0`, sel), 15*time.Second)
	recs.click(sel + " .play")
	recs.waitJS("the player open", `!document.querySelector('#player').hidden`, 10*time.Second)
	recs.videoAdvances("#video", 30*time.Second)
	dur := eval[float64](recs, `document.querySelector('#video').duration`)
	if dur < 2 || dur > 15 {
		t.Errorf("recorded composite plays for %.1f s in the page, want about 4-6 s", dur)
	}
	// The video comes from the object store's origin, so its pixels cannot
	// be read back (a tainted canvas); the e2e test decodes the same file.
	if w := eval[int](recs, `document.querySelector('#video').videoWidth`); w != 1280 {
		t.Errorf("recording plays at width %d in the page, want 1280", w)
	}
	t.Logf("recordings page: %s plays, %.1f s", id, dur)

	recs.screenshot() // while it plays, before it is deleted
	recs.click("#closeplayer")

	phase("composition")
	// Compose it again at 640x360 from the page: the progress bar fills,
	// and the link is to the new file.
	comps := fmt.Sprintf(`tr.comps[data-for=%q]`, id)
	recs.click(sel + " .compose")
	recs.waitJS("the composition form", fmt.Sprintf(`document.querySelector('%s form')`, comps), 10*time.Second)
	eval[bool](recs, fmt.Sprintf(`(document.querySelector('%s select[name=size]').value = '640x360', true)`, comps))
	recs.click(comps + " .start")
	recs.waitJS("the composition listed", fmt.Sprintf(`document.querySelector('%s .complist li[data-id]')`, comps), 10*time.Second)
	recs.waitJS("the composition done", fmt.Sprintf(`document.querySelector('%s .complist li[data-state="done"] a.output')`, comps), 90*time.Second)
	done := fmt.Sprintf(`document.querySelector('%s .complist li[data-state="done"]')`, comps)
	if v := eval[float64](recs, done+`.querySelector('progress').value`); v != 100 {
		t.Errorf("finished composition's progress bar at %.0f, want 100", v)
	}
	if txt := eval[string](recs, done+`.textContent`); !strings.Contains(txt, "100%") || !strings.Contains(txt, " s") {
		t.Errorf("finished composition reads %q, want its percent and media time", txt)
	}
	info2 := mediatest.Probe(t, download(t, eval[string](recs, done+`.querySelector('a.output').href`), t.TempDir(), "composition.mp4"))
	if v := info2.Video(); v == nil || v.Width != 640 || v.Height != 360 || info2.Duration < 2 {
		t.Errorf("composition from the page: %.1f s %+v", info2.Duration, info2.Streams)
	}

	// Delete it from the page (the confirmation answered yes).
	eval[bool](recs, `(window.confirm = () => true, true)`)
	recs.click(sel + " .delete")
	recs.waitJS("the recording gone", fmt.Sprintf(`!document.querySelector('%s')`, sel), 20*time.Second)
	if code := s.call("GET", "/api/recordings/"+id, s.admin, nil, nil); code != http.StatusNotFound {
		t.Errorf("recording deleted in the page answers %d", code)
	}

	phase("bad token")
	// A publish link with a bad token says so instead of failing quietly.
	bad := b.open("publish-bad-token", s.base+"/publish.html?room="+room+"&token=not-a-token")
	bad.waitJS("listing devices", `document.querySelector('#cam').options.length > 0`, 20*time.Second)
	// A camera permission the user refused is explained too.
	eval[bool](bad, `(navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError')), true)`)
	bad.click("#join")
	bad.waitJS("explaining the denied permission", `/permission .* was denied/i.test(document.querySelector('#msg').textContent)`, 10*time.Second)
	bad.open(s.base + "/publish.html?room=" + room + "&token=not-a-token")
	bad.waitJS("listing devices", `document.querySelector('#cam').options.length > 0`, 20*time.Second)
	bad.click("#join")
	bad.waitJS("explaining the token", `/token is missing, invalid or expired/.test(document.querySelector('#msg').textContent)`, 20*time.Second)
	if st := eval[string](bad, `document.querySelector('#state').dataset.state`); st != "failed" {
		t.Errorf("publish with a bad token ends in state %q, want failed", st)
	}

	phase("queues")
	// The queue UI, after the ?token= handshake, lists the upload queue.
	queues := b.open("queues", s.base+"/admin/queues/?"+admin)
	queues.waitJS("listing the queues", `document.body.innerText.includes('uploads:')`, 30*time.Second)

	phase("screen share")
	// Share the (fake) screen: the session starts again with a second picture.
	pub.click("#share")
	pub.waitJS("sharing", `document.querySelector('#share').textContent === 'Stop sharing' && document.querySelector('#state').dataset.state === 'connected'`, 30*time.Second)
	var shared struct {
		Participants []struct {
			Tracks []string `json:"tracks"`
		} `json:"participants"`
	}
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		shared.Participants = nil
		s.call("GET", "/api/rooms/"+room, s.admin, nil, &shared)
		if len(shared.Participants) == 1 && len(shared.Participants[0].Tracks) == 3 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(shared.Participants) != 1 || len(shared.Participants[0].Tracks) != 3 {
		t.Errorf("while sharing the screen the room has %+v, want one participant with 3 tracks", shared.Participants)
	}

	phase("screenshots")
	for _, tb := range []*tab{home, pub, watch, con, bad, queues} {
		tb.screenshot()
	}
	t.Logf("browser pages in %s", time.Since(start).Round(time.Second))
}
