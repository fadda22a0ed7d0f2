package compose

import (
	"context"
	"encoding/json"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/mixer"
)

func TestPostProcessing(t *testing.T) {
	tracks := twoParticipants(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	composite := filepath.Join(dir, "composite.mp4")
	if err := Render(ctx, Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutGrid}, Width: 640, Height: 360, Out: composite}); err != nil {
		t.Fatal(err)
	}
	var post Post

	audio := filepath.Join(dir, "audio.m4a")
	if err := post.AudioOnly(ctx, composite, audio); err != nil {
		t.Fatal(err)
	}
	ai := mediatest.Probe(t, audio)
	if len(ai.Streams) != 1 || ai.Audio() == nil || ai.Audio().CodecName != "aac" || math.Abs(ai.Duration-11.4) > 0.3 {
		t.Errorf("audio.m4a: %.2f s, streams %+v", ai.Duration, ai.Streams)
	}
	if got, want := len(mediatest.BeepTimes(t, audio)), len(mediatest.BeepTimes(t, composite)); got != want || got < 9 {
		t.Errorf("audio.m4a has %d beeps, the composite %d", got, want)
	}

	sheet := filepath.Join(dir, "contact.jpg")
	if err := post.ContactSheet(ctx, composite, sheet); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sheet)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 4*thumbW || b.Dy() != 4*thumbH {
		t.Errorf("contact sheet %v", b)
	}
	// The last thumbnail is late in the recording: b's half has a picture.
	if r, g, bl, _ := img.At(3*thumbW+thumbW*3/4, 3*thumbH+thumbH/2).RGBA(); r+g+bl < 0x3000 {
		t.Errorf("last thumbnail's right half is black")
	}

	r360 := filepath.Join(dir, "360p.mp4")
	if err := post.Rendition(ctx, composite, r360, 180); err != nil {
		t.Fatal(err)
	}
	ri := mediatest.Probe(t, r360)
	if v := ri.Video(); v == nil || v.Width != 320 || v.Height != 180 || ri.Audio() == nil || math.Abs(ri.Duration-11.4) > 0.3 {
		t.Errorf("rendition: %.2f s, streams %+v", ri.Duration, ri.Streams)
	}

	var rts []jobs.RenderTrack
	for _, tr := range tracks {
		tm, _ := json.Marshal(tr.Timing)
		rts = append(rts, jobs.RenderTrack{Participant: tr.Participant, Name: tr.Name, Kind: string(tr.Kind), Path: tr.Path, Timing: tm})
	}
	turns, err := post.Speakers(ctx, rts)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]float64{}
	for _, tu := range turns {
		if _, ok := first[tu.Participant]; !ok {
			first[tu.Participant] = tu.StartS
		}
		if tu.EndS <= tu.StartS || tu.EndS > 11.6 {
			t.Errorf("turn %+v", tu)
		}
	}
	if len(first) != 2 || first["a"] > 0.3 || math.Abs(first["b"]-1.4) > 0.3 {
		t.Errorf("first turns %v (want a near 0 s, b near 1.4 s); turns %+v", first, turns)
	}

	wave, err := post.Waveform(ctx, composite, 50)
	if err != nil {
		t.Fatal(err)
	}
	loud := 0
	for _, v := range wave {
		if v < 0 || v > 1 {
			t.Fatalf("waveform value %g", v)
		}
		if v > 0.05 {
			loud++
		}
	}
	if len(wave) != 50 || loud < 5 {
		t.Errorf("waveform %v", wave)
	}
}
