package e2e

import (
	"encoding/json"
	"image"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestComposeAPI: a recording with raw tracks is composed again through
// the API and `mosaic record compose --wait`; the result has both
// participants in their tiles and the recording's length. Bad requests get
// precise errors, a cancel stops a composition, and post-processing adds
// audio.m4a, a contact sheet and a speaker timeline.
func TestComposeAPI(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s")
	rec := recordTwoWithTracks(t, s, "comp")
	dir := t.TempDir()

	// The CLI with a progress bar.
	out, err := runCmd(s.bin, "record", "compose", rec.ID, "--layout", "grid", "--width", "640", "--height", "360", "--wait",
		"--server", s.base, "--token", s.admin)
	if err != nil {
		t.Fatalf("mosaic record compose: %v\n%s", err, out)
	}
	var done compositionView
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &done); err != nil || done.State != "done" || done.URL == "" {
		t.Fatalf("compose --wait printed %q (%v)", out, err)
	}
	if done.Progress != 100 || done.Renders != 1 || math.Abs(done.DoneS-done.TotalS) > 0.01 {
		t.Errorf("done composition %+v", done)
	}
	var all struct{ Compositions []compositionView }
	if code := s.call("GET", "/api/recordings/"+rec.ID+"/compositions", s.admin, nil, &all); code != http.StatusOK ||
		len(all.Compositions) != 1 || all.Compositions[0].ID != done.ID || all.Compositions[0].URL == "" {
		t.Errorf("list of compositions: %d %+v, want the done one with its URL", code, all.Compositions)
	}
	path := download(t, done.URL, dir, "grid.mp4")
	info := mediatest.Probe(t, path)
	if v := info.Video(); v == nil || v.CodecName != "h264" || v.Width != 640 || v.Height != 360 || info.Audio() == nil {
		t.Fatalf("composition streams %+v", info.Streams)
	}
	if math.Abs(info.Duration-rec.DurationS) > 1.5 {
		t.Errorf("composition lasts %.2f s, the recording %.2f s", info.Duration, rec.DurationS)
	}
	// p1 in the left tile, p2 (joined ~2 s in) in the right one.
	fa := mediatest.FlashTimes(t, path, image.Rect(60, 120, 260, 240))
	fb := mediatest.FlashTimes(t, path, image.Rect(380, 120, 580, 240))
	if len(fa) < 4 || len(fb) < 3 || fb[0] < 1 {
		t.Errorf("flashes left %v, right %v", fa, fb)
	}

	// Precise errors.
	for _, c := range []struct {
		body map[string]any
		code int
		want string
	}{
		{map[string]any{"layout": "mosaic"}, http.StatusBadRequest, "unknown kind"},
		{map[string]any{"layout": map[string]any{"kind": "custom"}}, http.StatusBadRequest, "at least one region"},
		{map[string]any{"from_s": 999}, http.StatusBadRequest, "outside the recording"},
		{map[string]any{"to_s": rec.DurationS + 60}, http.StatusBadRequest, "outside the recording"},
		{map[string]any{"width": 641, "height": 360}, http.StatusBadRequest, "size"},
	} {
		var e struct{ Error string }
		if code := s.call("POST", "/api/recordings/"+rec.ID+"/compositions", s.admin, c.body, &e); code != c.code || !strings.Contains(e.Error, c.want) {
			t.Errorf("POST %v: %d %q, want %d with %q", c.body, code, e.Error, c.code, c.want)
		}
	}
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/compositions", s.token("comp", "view"), nil, nil); code != http.StatusForbidden {
		t.Errorf("view token: %d, want 403", code)
	}
	if code := s.call("GET", "/api/recordings/"+rec.ID+"/compositions/cmp_0000000000000000", s.admin, nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown composition: %d, want 404", code)
	}
	plain := recordClip(t, s, "plain", filepath.Join(testenv.Inputs(t), "p3.webm"), "--duration", "3s")
	s.call("POST", "/api/recordings/"+plain+"/stop", s.admin, nil, nil)
	s.waitState(plain, "ready", 120*time.Second)
	var e struct{ Error string }
	if code := s.call("POST", "/api/recordings/"+plain+"/compositions", s.admin, nil, &e); code != http.StatusConflict || !strings.Contains(e.Error, "no raw tracks") {
		t.Errorf("recording without tracks: %d %q, want 409 no raw tracks", code, e.Error)
	}

	// Cancel: a big composition, cancelled at once, never stores a file.
	big := s.compose(rec.ID, map[string]any{"width": 1920, "height": 1080, "fps": 60})
	var cv compositionView
	if code := s.call("DELETE", "/api/recordings/"+rec.ID+"/compositions/"+big.ID, s.admin, nil, &cv); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	s.waitComposition(rec.ID, big.ID, "cancelled", 60*time.Second)
	time.Sleep(2 * time.Second)
	if objs := s.objects("recordings/comp/" + rec.ID + "/compositions/" + big.ID); len(objs) != 0 {
		t.Errorf("cancelled composition stored: %v", objs)
	}
	if code := s.call("DELETE", "/api/recordings/"+rec.ID+"/compositions/"+done.ID, s.admin, nil, nil); code != http.StatusConflict {
		t.Errorf("cancel of a done composition: %d, want 409", code)
	}

	// Post-processing of the ready recording.
	deadline := time.Now().Add(120 * time.Second)
	files := map[string]string{}
	for time.Now().Before(deadline) && (files["audio.m4a"] == "" || files["contact.jpg"] == "") {
		time.Sleep(500 * time.Millisecond)
		var r recordingView
		s.call("GET", "/api/recordings/"+rec.ID, s.admin, nil, &r)
		for _, f := range r.Files {
			files[f.Name] = f.URL
		}
	}
	if files["audio.m4a"] == "" || files["contact.jpg"] == "" {
		t.Fatalf("post-processing files missing: %v", files)
	}
	ai := mediatest.Probe(t, download(t, files["audio.m4a"], dir, "audio.m4a"))
	if len(ai.Streams) != 1 || ai.Audio() == nil || ai.Audio().CodecName != "aac" || math.Abs(ai.Duration-rec.DurationS) > 1 {
		t.Errorf("audio.m4a %.2f s %+v", ai.Duration, ai.Streams)
	}
	var m struct {
		Speakers []struct {
			Participant string  `json:"participant"`
			StartS      float64 `json:"start_s"`
			EndS        float64 `json:"end_s"`
		} `json:"speakers"`
		Files []struct{ Name string } `json:"files"`
	}
	data, _ := os.ReadFile(download(t, files["manifest.json"], dir, "manifest.json"))
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	who := map[string]bool{}
	for _, sp := range m.Speakers {
		who[sp.Participant] = true
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Name] = true
	}
	if len(who) != 2 || !listed["audio.m4a"] || !listed["contact.jpg"] {
		t.Errorf("manifest speakers %+v, files %v", m.Speakers, listed)
	}
}
