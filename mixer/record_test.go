package mixer

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// write muxes the video and audio samples (from the first keyframe on), keeping
// their timestamps, into dir: H.264 + AAC as MP4, VP8 + Opus as WebM.
// It returns the file's path.
func (rec *recording) write(t testing.TB, dir string) string {
	t.Helper()
	all := rec.samples()
	start := time.Duration(-1)
	for _, s := range all {
		if s.Kind == media.Video && s.Keyframe {
			start = s.PTS
			break
		}
	}
	if start < 0 {
		t.Fatalf("no video keyframe among %d samples", len(all))
	}
	if keep := os.Getenv("MOSAIC_KEEP_MEDIA"); keep != "" {
		// Debugging: leave the composite where a person can look at it.
		dir = filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if rec.m.Info().VideoCodec == media.VP8 {
		return rec.mux(t, all, start, filepath.Join(dir, "composite.webm"), media.VP8, media.Opus,
			"appsrc name=v format=time caps=video/x-vp8,width=%d,height=%d,framerate=%d/1 ! queue ! webmmux name=mux ! filesink location=%s "+
				"appsrc name=a format=time caps=audio/x-opus,channel-mapping-family=0,channels=2,rate=48000 ! opusparse ! queue ! mux.")
	}
	return rec.mux(t, all, start, filepath.Join(dir, "composite.mp4"), media.H264, media.AAC,
		"appsrc name=v format=time caps=video/x-h264,stream-format=byte-stream,alignment=au,width=%d,height=%d,framerate=%d/1 ! h264parse ! queue ! mp4mux name=mux ! filesink location=%s "+
			"appsrc name=a format=time caps=audio/mpeg,mpegversion=4,stream-format=raw,rate=48000,channels=2,codec_data=(buffer)"+
			hex.EncodeToString(rec.m.Info().AudioConfig)+" ! aacparse ! queue ! mux.")
}

// mux writes the samples of one video and one audio codec through a muxing
// pipeline (desc takes width, height, fps and the output path).
func (rec *recording) mux(t testing.TB, all []media.Sample, start time.Duration, out string, vcodec, acodec media.Codec, desc string) string {
	t.Helper()
	info := rec.m.Info()
	pl, err := gst.NewPipelineFromString(fmt.Sprintf(desc, info.Width, info.Height, info.FPS, out))
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
		if s.PTS < start || (s.Codec != vcodec && s.Codec != acodec) {
			continue
		}
		buf := gst.NewBufferFromBytes(s.Data)
		buf.SetPresentationTimestamp(gst.ClockTime(s.PTS - start))
		if s.Codec == vcodec && !s.Keyframe {
			buf.SetFlags(gst.BufferFlagDeltaUnit)
		}
		if s.Duration > 0 {
			buf.SetDuration(gst.ClockTime(s.Duration))
		}
		src := asrc
		if s.Codec == vcodec {
			src = vsrc
		}
		if ret := src.PushBuffer(buf); ret != gst.FlowOK {
			t.Fatalf("mux push: %v", ret)
		}
	}
	vsrc.EndStream()
	asrc.EndStream()
	msg := pl.GetPipelineBus().TimedPopFiltered(gst.ClockTime((30 * time.Second).Nanoseconds()), gst.MessageEOS|gst.MessageError)
	if msg == nil {
		t.Fatal("mux did not finish in 30 s")
	}
	if msg.Type() == gst.MessageError {
		gerr := msg.ParseError()
		t.Fatalf("mux failed: %v (%s)", gerr, gerr.DebugString())
	}
	return out
}
