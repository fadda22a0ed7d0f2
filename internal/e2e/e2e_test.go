package e2e

import (
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

// TestEndToEnd: a publisher sends 10 s of a reference clip over WHIP; the
// room is recorded; the composite lands in S3, and decoding it shows the
// publisher's picture at 1280x720 with audio, for as long as was sent.
func TestEndToEnd(t *testing.T) {
	s := startServer(t)
	clip := filepath.Join(testenv.Inputs(t), "p1.webm")

	var room map[string]any
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": "e2e"}, &room); code != http.StatusCreated {
		t.Fatalf("create room: %d %v", code, room)
	}
	var rec recordingView
	if code := s.call("POST", "/api/rooms/e2e/recordings", s.admin, map[string]any{"tracks": false}, &rec); code != http.StatusCreated {
		t.Fatalf("start recording: %d %+v", code, rec)
	}
	if rec.State != "recording" || rec.Room != "e2e" || rec.ID == "" {
		t.Fatalf("started recording = %+v", rec)
	}
	recStart := time.Now()

	pub := testenv.Run(t, nil, s.bin, "publish", "--url", s.base+"/rooms/e2e/whip", "--token", s.token("e2e", "publish"), "--file", clip)
	select {
	case <-pub.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("publisher still running after 60 s:\n%s", pub.Tail(20))
	}
	if err := pub.Err(); err != nil {
		t.Fatalf("publish: %v\n%s", err, pub.Tail(20))
	}
	if !strings.Contains(pub.Output(), "sent 10") && !strings.Contains(pub.Output(), "sent 9.9") {
		t.Fatalf("publisher did not report 10 s sent:\n%s", pub.Tail(10))
	}
	time.Sleep(time.Second) // the last frames through the jitter buffer and mixer
	var stopped recordingView
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, &stopped); code != http.StatusOK {
		t.Fatalf("stop: %d %+v", code, stopped)
	}
	recWall := time.Since(recStart).Seconds()
	ready := s.waitState(rec.ID, "ready", 90*time.Second)

	// Objects under the storage layout.
	objs := s.objects("recordings/e2e/" + rec.ID + "/")
	for _, want := range []string{"manifest.json", "composite.mp4", "seg-00001.mp4"} {
		if _, ok := objs["recordings/e2e/"+rec.ID+"/"+want]; !ok {
			t.Errorf("object %s missing; have %v", want, objs)
		}
	}
	// Local segments are gone once the store confirmed them.
	left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", rec.ID, "seg-*.mp4"))
	if len(left) > 0 {
		t.Errorf("local segments left after upload: %v", left)
	}

	var url string
	for _, f := range ready.Files {
		if f.Name == "composite.mp4" {
			url = f.URL
		}
	}
	if url == "" {
		t.Fatalf("no composite.mp4 URL in %+v", ready)
	}
	dir := t.TempDir()
	mp4 := download(t, url, dir, "composite.mp4")
	info := mediatest.Probe(t, mp4)
	v, a := info.Video(), info.Audio()
	if v == nil || v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 {
		t.Fatalf("video stream %+v, want h264 1280x720", v)
	}
	if a == nil {
		t.Fatalf("no audio stream in %+v", info)
	}
	// The recording ran from start to stop; it holds that long, within 0.5 s
	// plus the time the first keyframe took.
	if info.Duration < recWall-1.5 || info.Duration > recWall+0.5 {
		t.Errorf("composite lasts %.2f s, the recording ran %.2f s", info.Duration, recWall)
	}
	if math.Abs(ready.DurationS-info.Duration) > 0.5 {
		t.Errorf("API duration %.2f s, file %.2f s", ready.DurationS, info.Duration)
	}

	// The publisher's picture is in its tile (one participant: the whole
	// frame) for as long as it was sent: count the frames that are not black.
	const w, h = 160, 90
	frames := mediatest.Frames(t, mp4, w, h, 10)
	visible := 0
	for _, f := range frames {
		if !mediatest.IsBlack(f, w, image.Rect(20, 10, 140, 80)) {
			visible++
		}
	}
	shown := float64(visible) / 10
	t.Logf("composite %.2f s, publisher visible %.1f s, recording wall %.2f s", info.Duration, shown, recWall)
	if math.Abs(shown-10) > 0.5 {
		t.Errorf("publisher visible for %.1f s of the composite, sent 10 s", shown)
	}
	if _, err := os.Stat(mp4); err != nil {
		t.Fatal(err)
	}

	// What operators watch: uploads timed, queues and mixers reported.
	metrics := s.metrics()
	for _, want := range []string{"mosaic_upload_seconds_count", "mosaic_queue_tasks{queue=\"default\"", "mosaic_mixer_video_frames_total", "mosaic_rooms 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if v := metricValue(metrics, "mosaic_upload_seconds_count"); v < 2 {
		t.Errorf("mosaic_upload_seconds_count = %v, want one per stored file", v)
	}
	if v := metricValue(metrics, "mosaic_mixer_video_frames_total"); v < 300 {
		t.Errorf("mosaic_mixer_video_frames_total = %v after 10 s at 30 fps", v)
	}
}

// TestBadInputAtTheEdge: malformed SDP, a missing token and an unknown role
// get precise statuses with JSON errors, and the server keeps serving.
func TestBadInputAtTheEdge(t *testing.T) {
	s := startServer(t)
	pubTok := s.token("edge", "publish")
	cases := []struct {
		name, method, path, ctype, token, body string
		status                                 int
		msg                                    string
	}{
		{"malformed SDP", "POST", "/rooms/edge/whip", "application/sdp", pubTok, "v=0\r\nthis is not sdp", 400, "malformed SDP"},
		{"missing token", "POST", "/rooms/edge/whip", "application/sdp", "", "v=0\r\n", 401, "token"},
		{"wrong content type", "POST", "/rooms/edge/whip", "text/plain", pubTok, "v=0\r\n", 415, ""},
		{"token of another room", "POST", "/rooms/other/whip", "application/sdp", pubTok, "v=0\r\n", 403, ""},
		{"unknown role", "POST", "/api/tokens", "application/json", s.admin, `{"room":"edge","role":"superuser"}`, 400, "unknown role"},
		{"api without token", "GET", "/api/rooms", "", "", "", 401, ""},
		{"api with a publish token", "GET", "/api/rooms", "", pubTok, "", 403, ""},
		{"recording of an unknown room", "POST", "/api/rooms/nosuchroom/recordings", "application/json", s.admin, `{}`, 404, "no such room"},
		{"stop of an unknown recording", "POST", "/api/recordings/rec_0123456789abcdef0123/stop", "", s.admin, "", 404, ""},
		{"path traversal id", "GET", "/api/recordings/..%2f..%2fetc", "", s.admin, "", 400, "invalid recording id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.base+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct{ Error string }
			derr := jsonDecode(res, &body)
			if res.StatusCode != c.status {
				t.Fatalf("status %d (%q), want %d", res.StatusCode, body.Error, c.status)
			}
			if derr != nil || body.Error == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("error body not JSON with an error: %v %q %s", derr, body.Error, res.Header.Get("Content-Type"))
			}
			if c.msg != "" && !strings.Contains(body.Error, c.msg) {
				t.Fatalf("error %q does not mention %q", body.Error, c.msg)
			}
		})
	}
	if code := s.call("GET", "/healthz", "", nil, nil); code != http.StatusOK {
		t.Fatalf("healthz after bad input: %d", code)
	}
}
