package mixer

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// recording collects the mixer's output samples.
type recording struct {
	m      *Mixer
	r      *media.Reader
	mu     sync.Mutex
	all    []media.Sample
	done   chan struct{}
	closed bool
}

func startRecording(t testing.TB, m *Mixer) *recording {
	rec := &recording{m: m, r: m.Output().Subscribe("test-recorder", 4096), done: make(chan struct{})}
	go func() {
		defer close(rec.done)
		for s := range rec.r.C {
			rec.mu.Lock()
			rec.all = append(rec.all, s)
			rec.mu.Unlock()
		}
	}()
	t.Cleanup(rec.stopReader)
	return rec
}

func (rec *recording) stopReader() {
	rec.mu.Lock()
	closed := rec.closed
	rec.closed = true
	rec.mu.Unlock()
	if !closed {
		rec.r.Close()
		<-rec.done
	}
}

// samples stops recording and returns what was received.
func (rec *recording) samples() []media.Sample {
	rec.stopReader()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.all
}

// writeMP4 muxes the H.264 and AAC samples (from the first keyframe on) into
// an MP4 file in dir, keeping their timestamps, and returns its path.
func (rec *recording) writeMP4(t testing.TB, dir string) string {
	t.Helper()
	all := rec.samples()
	start := time.Duration(-1)
	for _, s := range all {
		if s.Codec == media.H264 && s.Keyframe {
			start = s.PTS
			break
		}
	}
	if start < 0 {
		t.Fatalf("no H.264 keyframe among %d samples", len(all))
	}
	out := filepath.Join(dir, "composite.mp4")
	asc := hex.EncodeToString(rec.m.Info().AudioConfig)
	desc := fmt.Sprintf("appsrc name=v format=time caps=video/x-h264,stream-format=byte-stream,alignment=au ! h264parse ! queue ! mp4mux name=mux ! filesink location=%s "+
		"appsrc name=a format=time caps=audio/mpeg,mpegversion=4,stream-format=raw,rate=48000,channels=2,codec_data=(buffer)%s ! aacparse ! queue ! mux.", out, asc)
	pl, err := gst.NewPipelineFromString(desc)
	if err != nil {
		t.Fatalf("mux pipeline: %v", err)
	}
	defer pl.SetState(gst.StateNull)
	srcOf := func(name string) *app.Source {
		el, err := pl.GetElementByName(name)
		if err != nil {
			t.Fatalf("mux %s: %v", name, err)
		}
		return app.SrcFromElement(el)
	}
	vsrc, asrc := srcOf("v"), srcOf("a")
	if err := pl.SetState(gst.StatePlaying); err != nil {
		t.Fatalf("mux play: %v", err)
	}
	for _, s := range all {
		if s.PTS < start || (s.Codec != media.H264 && s.Codec != media.AAC) {
			continue
		}
		buf := gst.NewBufferFromBytes(s.Data)
		buf.SetPresentationTimestamp(gst.ClockTime(s.PTS - start))
		if s.Codec == media.H264 && !s.Keyframe {
			buf.SetFlags(gst.BufferFlagDeltaUnit)
		}
		if s.Duration > 0 {
			buf.SetDuration(gst.ClockTime(s.Duration))
		}
		src := asrc
		if s.Codec == media.H264 {
			src = vsrc
		}
		if ret := src.PushBuffer(buf); ret != gst.FlowOK {
			t.Fatalf("mux push: %v", ret)
		}
	}
	vsrc.EndStream()
	asrc.EndStream()
	msg := pl.GetPipelineBus().TimedPopFiltered(gst.ClockTime((30 * time.Second).Nanoseconds()), gst.MessageEOS|gst.MessageError)
	if msg == nil || msg.Type() != gst.MessageEOS {
		t.Fatalf("mux did not finish: %v", msg)
	}
	return out
}
