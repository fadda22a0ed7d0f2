package e2e

import (
	"encoding/json"
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

// publish starts `mosaic publish` of clip into room for the given duration.
func (s *server) publish(room, clip, duration string) *testenv.Proc {
	s.t.Helper()
	return testenv.Run(s.t, nil, s.bin, "publish", "--url", s.base+"/rooms/"+room+"/whip",
		"--token", s.token(room, "publish"), "--file", clip, "--duration", duration)
}

func waitProc(t *testing.T, p *testenv.Proc, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(timeout):
		t.Fatalf("process still running after %s:\n%s", timeout, p.Tail(20))
	}
	if err := p.Err(); err != nil {
		t.Fatalf("process: %v\n%s", err, p.Tail(20))
	}
}

// startRecording creates the room (if needed) and starts a recording.
func (s *server) startRecording(room string, body any) recordingView {
	s.t.Helper()
	code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": room}, nil)
	if code != http.StatusCreated && code != http.StatusOK && code != http.StatusConflict {
		s.t.Fatalf("create room: %d", code)
	}
	var rec recordingView
	if code := s.call("POST", "/api/rooms/"+room+"/recordings", s.admin, body, &rec); code != http.StatusCreated {
		s.t.Fatalf("start recording: %d %+v", code, rec)
	}
	return rec
}

// TestRawTracks: with {"tracks": true} every participant's tracks — the one
// publishing when the recording starts and one joining later — are recorded
// as received (VP8 and Opus in Matroska), stored beside the composite with a
// timing sidecar of sender reports, and listed in the manifest and the API.
func TestRawTracks(t *testing.T) {
	s := startServer(t, "--segment-duration", "2s")
	inputs := testenv.Inputs(t)
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": "tracks"}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	first := s.publish("tracks", filepath.Join(inputs, "p1.webm"), "10s")
	waitParticipants(t, s, "tracks", 1)
	time.Sleep(2 * time.Second)
	rec := s.startRecording("tracks", map[string]any{"tracks": true})
	recStart := time.Now()
	time.Sleep(2 * time.Second)
	late := s.publish("tracks", filepath.Join(inputs, "p2.webm"), "4s")
	waitProc(t, late, 60*time.Second)
	waitProc(t, first, 60*time.Second)
	firstSpan := time.Since(recStart).Seconds() // the first publisher's time in the recording
	time.Sleep(time.Second)
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	ready := s.waitState(rec.ID, "ready", 120*time.Second)

	dir := t.TempDir()
	var mkvs []string
	urls := map[string]string{}
	for _, f := range ready.Files {
		urls[f.Name] = f.URL
		if strings.HasPrefix(f.Name, "tracks/") && strings.HasSuffix(f.Name, ".mkv") {
			mkvs = append(mkvs, f.Name)
		}
	}
	if len(mkvs) != 4 {
		t.Fatalf("%d track files in the API, want 4 (2 participants × video+audio): %+v", len(mkvs), ready.Files)
	}
	prefix := "recordings/tracks/" + rec.ID + "/"
	objs := s.objects(prefix + "tracks/")
	if len(objs) != 8 {
		t.Fatalf("%d objects under tracks/, want 4 files + 4 timing sidecars: %v", len(objs), objs)
	}

	// Decode each file: codec as published, duration as long as published.
	type span struct {
		kind string
		d    float64
	}
	var long []span
	var short []float64
	for _, name := range mkvs {
		if urls[name+".timing.json"] == "" {
			t.Fatalf("no timing sidecar for %s in the API files", name)
		}
		path := download(t, urls[name], dir, filepath.Base(name))
		info := mediatest.Probe(t, path)
		if len(info.Streams) != 1 {
			t.Fatalf("%s: %d streams, want 1", name, len(info.Streams))
		}
		st := info.Streams[0]
		if (st.CodecType == "video" && st.CodecName != "vp8") || (st.CodecType == "audio" && st.CodecName != "opus") {
			t.Fatalf("%s: %s/%s, want video vp8 or audio opus (as received)", name, st.CodecType, st.CodecName)
		}
		if st.CodecType == "video" && (st.Width != 1280 || st.Height != 720) {
			t.Errorf("%s: %dx%d, published 1280x720", name, st.Width, st.Height)
		}
		d := info.Duration
		t.Logf("%s: %s %s %.2f s", name, st.CodecType, st.CodecName, d)
		if d > 5 {
			long = append(long, span{st.CodecType, d})
		} else {
			short = append(short, d)
		}

		timing := download(t, urls[name+".timing.json"], dir, filepath.Base(name)+".timing.json")
		var tm struct {
			Kind          string            `json:"kind"`
			ClockRate     uint32            `json:"clock_rate"`
			SenderReports []json.RawMessage `json:"sender_reports"`
		}
		data, _ := os.ReadFile(timing)
		if err := json.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s timing: %v", name, err)
		}
		if len(tm.SenderReports) == 0 || tm.ClockRate == 0 {
			t.Errorf("%s timing: %d sender reports, clock rate %d", name, len(tm.SenderReports), tm.ClockRate)
		}
	}
	if len(long) != 2 || len(short) != 2 {
		t.Fatalf("track durations long %v short %v: want two of the first publisher's (%.1f s) and two ≈4 s (late one)", long, short, firstSpan)
	}
	for _, l := range long {
		// Its video, taken mid-stream, starts at the clip's next keyframe
		// (every 2 s: a file publisher cannot answer a keyframe request).
		slack := 1.5
		if l.kind == "video" {
			slack = 2.5
		}
		if l.d > firstSpan+1.5 || l.d < firstSpan-slack {
			t.Errorf("first publisher's %s track lasts %.2f s, it published %.2f s while recorded", l.kind, l.d, firstSpan)
		}
	}
	for _, d := range short {
		if math.Abs(d-4) > 1 {
			t.Errorf("late publisher's track lasts %.2f s, published 4 s", d)
		}
	}

	// The manifest lists the tracks with their timing.
	mpath := download(t, urls["manifest.json"], dir, "manifest.json")
	var m struct {
		Tracks []struct {
			Name   string `json:"name"`
			Key    string `json:"key"`
			Timing struct {
				SenderReports []json.RawMessage `json:"sender_reports"`
			} `json:"timing"`
		} `json:"tracks"`
	}
	data, _ := os.ReadFile(mpath)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Tracks) != 4 {
		t.Fatalf("manifest lists %d tracks, want 4", len(m.Tracks))
	}
	for _, tr := range m.Tracks {
		if _, ok := objs[tr.Key]; !ok || len(tr.Timing.SenderReports) == 0 {
			t.Errorf("manifest track %s: key %s stored %v, %d sender reports", tr.Name, tr.Key, ok, len(tr.Timing.SenderReports))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.dataDir, "recordings", rec.ID, "tracks", "*")); len(left) > 0 {
		t.Errorf("local track files left after upload: %v", left)
	}
}

// waitParticipants waits until the room has n participants publishing.
func waitParticipants(t *testing.T, s *server, room string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var info struct {
			Participants []struct {
				Tracks []string `json:"tracks"`
			} `json:"participants"`
		}
		s.call("GET", "/api/rooms/"+room, s.admin, nil, &info)
		full := 0
		for _, p := range info.Participants {
			if len(p.Tracks) >= 2 {
				full++
			}
		}
		if full >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: %d participants with tracks after 30 s, want %d", room, full, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
