package mixer

import (
	"image"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestAudioOnlyParticipantGetsANameCard: next to a camera, a participant
// with audio only has a tile of their own: the neutral card with their
// name, neither black nor the other participant's picture; the card goes
// when they leave.
func TestAudioOnlyParticipantGetsANameCard(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1500})
	rec := startRecording(t, m)
	cam := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "cam", Duration: 6 * time.Second})
	voice := startFeed(t, m, filepath.Join(clips, "p2.webm"), feedOptions{Participant: "voice", Name: "Ada", NoVideo: true, Duration: 4 * time.Second})
	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().Placeholders == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := m.Stats(); st.Placeholders != 1 || st.Inputs != 3 {
		t.Fatalf("with an audio-only participant: stats %+v, want 3 tracks and 1 placeholder", st)
	}
	voice.wait(30 * time.Second)
	if st := m.Stats(); st.Placeholders != 0 {
		t.Fatalf("after the audio-only participant left: %d placeholders", st.Placeholders)
	}
	cam.wait(30 * time.Second)
	path := rec.write(t, t.TempDir())
	frames := mediatest.Frames(t, path, w, h, 5)
	tiles := gridTiles(2, w, h)
	card := letterbox(tiles[1], placeholderWidth, placeholderHeight)
	camTile := letterbox(tiles[0], 1280, 720)
	want := [3]float64{PlaceholderColor >> 16, PlaceholderColor >> 8 & 0xff, PlaceholderColor & 0xff}
	// The card, away from the name in its centre.
	band := image.Rect(card.X+8, card.Y+8, card.X+card.W-8, card.Y+card.H/4)
	name := image.Rect(card.X+card.W/4, card.Y+card.H/3, card.X+3*card.W/4, card.Y+2*card.H/3)
	good := 0
	middle := frames[len(frames)/3 : len(frames)*7/12] // 2 s .. 3.5 s of a 6 s room
	for _, fr := range middle {
		r, g, b := mediatest.MeanRGB(fr, w, band)
		got := [3]float64{r, g, b}
		cr, cg, cb := mediatest.MeanRGB(fr, w, imgRect(camTile, 8))
		if colorDistance(got, want) > 20 || colorDistance([3]float64{cr, cg, cb}, want) < 40 {
			continue
		}
		bright := 0 // the name: white text on the card
		for y := name.Min.Y; y < name.Max.Y; y++ {
			for x := name.Min.X; x < name.Max.X; x++ {
				if pr, pg, pb := mediatest.Pixel(fr, w, x, y); int(pr)+int(pg)+int(pb) > 600 {
					bright++
				}
			}
		}
		if bright > 30 {
			good++
		}
	}
	if good*3 < len(middle)*2 {
		r, g, b := mediatest.MeanRGB(middle[0], w, band)
		t.Fatalf("%d of %d frames show the name card (first: card band rgb %.0f,%.0f,%.0f, want %v)", good, len(middle), r, g, b, want)
	}
	// After the audio-only participant left, the camera has the whole picture.
	last := frames[len(frames)*9/10]
	if r, g, b := mediatest.MeanRGB(last, w, band); colorDistance([3]float64{r, g, b}, want) < 20 {
		t.Fatalf("the card is still shown after the participant left (rgb %.0f,%.0f,%.0f in frame %d of %d)", r, g, b, len(frames)*9/10, len(frames))
	}
}
