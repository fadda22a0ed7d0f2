package compose

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/mixer"
)

func TestParseLayout(t *testing.T) {
	for _, c := range []struct {
		raw  string
		kind string
		err  bool
	}{
		{``, mixer.LayoutGrid, false}, {`null`, mixer.LayoutGrid, false}, {`"speaker"`, mixer.LayoutSpeaker, false},
		{`{"kind":"custom","regions":[{"x":0,"y":0,"w":1,"h":1}]}`, mixer.LayoutCustom, false},
		{`"mosaic"`, "", true}, {`{"kind":"custom"}`, "", true}, {`{"kind":`, "", true}, {`42`, "", true},
	} {
		l, err := ParseLayout(json.RawMessage(c.raw))
		if c.err {
			if !errors.Is(err, ErrLayout) {
				t.Errorf("%s: %v, want ErrLayout", c.raw, err)
			}
			continue
		}
		if err != nil || l.Kind != c.kind {
			t.Errorf("%s: %+v %v, want %s", c.raw, l, err, c.kind)
		}
	}
}

// The job renderer marks input that can never render as jobs.ErrBadRender
// (not retried), keeping the precise cause.
func TestRendererPermanentErrors(t *testing.T) {
	dir := t.TempDir()
	files, err := SplitClip(context.Background(), filepath.Join(testenv.Inputs(t), "p1.webm"), dir, "p1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("split into %d files", len(files))
	}
	var tracks []jobs.RenderTrack
	for _, f := range files {
		if info := mediatest.Probe(t, f.Path); len(info.Streams) != 1 || info.Streams[0].CodecType != string(f.Kind) {
			t.Errorf("%s: %+v", f.Path, info.Streams)
		}
		tm, _ := json.Marshal(f.Timing)
		tracks = append(tracks, jobs.RenderTrack{Participant: f.Participant, Name: f.Name, Kind: string(f.Kind), Path: f.Path, Timing: tm})
	}
	out := filepath.Join(dir, "out.mp4")
	for _, c := range []struct {
		name  string
		req   jobs.RenderRequest
		cause error
	}{
		{"no tracks", jobs.RenderRequest{Out: out}, ErrNoTracks},
		{"layout", jobs.RenderRequest{Tracks: tracks, Layout: json.RawMessage(`"mosaic"`), Out: out}, ErrLayout},
		{"range", jobs.RenderRequest{Tracks: tracks, From: time.Minute, Out: out}, ErrRange},
	} {
		err := Renderer{}.Render(context.Background(), c.req)
		if !errors.Is(err, jobs.ErrBadRender) || !errors.Is(err, c.cause) {
			t.Errorf("%s: %v, want ErrBadRender and %v", c.name, err, c.cause)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Renderer{}).Render(ctx, jobs.RenderRequest{Tracks: tracks, Out: out}); errors.Is(err, jobs.ErrBadRender) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled render: %v, want a retryable context.Canceled", err)
	}
}
