package mixer

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func TestOneParticipantFillsThePicture(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{})
	rec := startRecording(t, m)
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Duration: 4 * time.Second})
	f.wait(20 * time.Second)
	time.Sleep(500 * time.Millisecond)
	path := rec.writeMP4(t, t.TempDir())
	info := probe(t, path)
	var video, audio bool
	for _, s := range info.Streams {
		switch s.CodecType {
		case "video":
			video = s.CodecName == "h264" && s.Width == 1280 && s.Height == 720
		case "audio":
			audio = s.CodecName == "aac"
		}
	}
	if !video || !audio {
		t.Fatalf("streams %+v, want h264 1280x720 and aac", info.Streams)
	}
	if d := info.duration(); d < 3.5 || d > 8 {
		t.Fatalf("duration %.2f s, want about 4-5 s", d)
	}
	frames := decodeFrames(t, path, 320, 180, 10)
	lit := 0
	for _, fr := range frames {
		r, g, b := regionMean(fr, 320, rect{X: 20, Y: 20, W: 280, H: 140})
		if r+g+b > 90 {
			lit++
		}
	}
	if lit < len(frames)/2 {
		t.Fatalf("only %d of %d frames show the participant", lit, len(frames))
	}
	if st := m.Stats(); st.PacketsIn == 0 || st.InputsAdded != 2 || st.Inputs != 0 {
		t.Fatalf("stats %+v", st)
	}
}
