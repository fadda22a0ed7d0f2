package mixer

import (
	"fmt"
	"image"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// checkStreams asserts an H.264 picture of w x h and an AAC track, and
// returns the duration.
func checkStreams(t *testing.T, path string, w, h int) float64 {
	t.Helper()
	info := mediatest.Probe(t, path)
	v, a := info.Video(), info.Audio()
	if v == nil || v.CodecName != "h264" || v.Width != w || v.Height != h {
		t.Fatalf("video stream %+v, want h264 %dx%d", v, w, h)
	}
	if a == nil || a.CodecName != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
		t.Fatalf("audio stream %+v, want aac 48 kHz stereo", a)
	}
	return info.Duration
}

// imgRect converts a tile to an image rectangle shrunk by a margin.
func imgRect(r Rect, margin int) image.Rectangle {
	return image.Rect(r.X+margin, r.Y+margin, r.X+r.W-margin, r.Y+r.H-margin)
}

// letterbox is the part of a tile a srcW x srcH picture covers when it keeps its aspect.
func letterbox(r Rect, srcW, srcH int) Rect {
	scale := math.Min(float64(r.W)/float64(srcW), float64(r.H)/float64(srcH))
	w, h := int(float64(srcW)*scale)&^1, int(float64(srcH)*scale)&^1
	return Rect{X: r.X + (r.W-w)/2, Y: r.Y + (r.H-h)/2, W: w, H: h}
}

func colorDistance(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func TestOneParticipantFillsThePicture(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{})
	rec := startRecording(t, m)
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Duration: 4 * time.Second})
	f.wait(20 * time.Second)
	time.Sleep(500 * time.Millisecond)
	path := rec.write(t, t.TempDir())
	if d := checkStreams(t, path, 1280, 720); d < 3.5 || d > 8 {
		t.Fatalf("duration %.2f s, want about 4-5 s", d)
	}
	frames := mediatest.Frames(t, path, 320, 180, 10)
	lit := 0
	for _, fr := range frames {
		if !mediatest.IsBlack(fr, 320, image.Rect(20, 20, 300, 160)) {
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

// TestParticipantsGetTheirOwnTiles feeds 2 and 4 different clips and checks
// that each tile shows its own clip: its mean colour is close to the source's
// (scaled into the tile) and far from the other clips'.
func TestParticipantsGetTheirOwnTiles(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d", n), func(t *testing.T) {
			m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1500})
			rec := startRecording(t, m)
			var feeds []*feed
			for i := 1; i <= n; i++ {
				feeds = append(feeds, startFeed(t, m, filepath.Join(clips, fmt.Sprintf("p%d.webm", i)),
					feedOptions{Participant: fmt.Sprintf("p%d", i), NoAudio: i > 2, Duration: 3 * time.Second}))
			}
			for _, f := range feeds {
				f.wait(30 * time.Second)
			}
			path := rec.write(t, t.TempDir())
			checkStreams(t, path, w, h)
			out := mediatest.Frames(t, path, w, h, 5)
			tiles := gridTiles(n, w, h)
			for i := range tiles {
				tiles[i] = letterbox(tiles[i], 1280, 720)
			}
			// Reference: each clip's own picture at 1 s, scaled like its tile (16:9 into the tile).
			refs := make([][3]float64, n)
			for i := range n {
				src := mediatest.Frames(t, filepath.Join(clips, fmt.Sprintf("p%d.webm", i+1)), tiles[i].W, tiles[i].H, 5)
				r, g, b := mediatest.MeanRGB(src[7], tiles[i].W, image.Rect(4, 4, tiles[i].W-4, tiles[i].H-4))
				refs[i] = [3]float64{r, g, b}
			}
			// Look at a frame well inside the stream (after joins, before leaves).
			good := 0
			for _, fr := range out[len(out)/3 : 2*len(out)/3] {
				ok := true
				for i, tile := range tiles {
					r, g, b := mediatest.MeanRGB(fr, w, imgRect(tile, 4))
					got := [3]float64{r, g, b}
					own := colorDistance(got, refs[i])
					for j := range refs {
						if j != i && colorDistance(got, refs[j]) < own {
							ok = false
						}
					}
					if mediatest.IsBlack(fr, w, imgRect(tile, 4)) {
						ok = false
					}
				}
				if ok {
					good++
				}
			}
			middle := 2*len(out)/3 - len(out)/3
			if good*2 < middle {
				t.Fatalf("%d of %d frames in the middle of the stream have every tile matching its own clip", good, middle)
			}
		})
	}
}

// TestCodecs: H.264 and VP9 participants into a VP8 composite (WebM with Opus).
func TestCodecs(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoCodec: media.VP8, VideoBitrateKbps: 1000})
	if info := m.Info(); info.VideoCodec != media.VP8 {
		t.Fatalf("info %+v", info)
	}
	rec := startRecording(t, m)
	f1 := startFeed(t, m, filepath.Join(clips, "p3.webm"), feedOptions{Codec: "H264", Duration: 3 * time.Second})
	f2 := startFeed(t, m, filepath.Join(clips, "p4.webm"), feedOptions{Codec: "VP9", NoAudio: true, Duration: 3 * time.Second})
	f1.wait(30 * time.Second)
	f2.wait(30 * time.Second)
	path := rec.write(t, t.TempDir())
	info := mediatest.Probe(t, path)
	if v, a := info.Video(), info.Audio(); v == nil || v.CodecName != "vp8" || v.Width != w || v.Height != h || a == nil || a.CodecName != "opus" {
		t.Fatalf("streams %+v, want vp8 %dx%d and opus", info.Streams, w, h)
	}
	if beeps := mediatest.BeepTimes(t, path); len(beeps) < 2 {
		t.Fatalf("beeps %v in the Opus track, want the clip's (one a second)", beeps)
	}
	frames := mediatest.Frames(t, path, w, h, 5)
	tiles := gridTiles(2, w, h)
	lit := [2]int{}
	for _, fr := range frames {
		for i, tile := range tiles {
			if !mediatest.IsBlack(fr, w, imgRect(letterbox(tile, 16, 9), 4)) {
				lit[i]++
			}
		}
	}
	if lit[0]*3 < len(frames) || lit[1]*3 < len(frames) {
		t.Fatalf("tiles lit in %v of %d frames: H.264 and VP9 participants should both show", lit, len(frames))
	}
}
