package recorder

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

const (
	testW, testH = 1280, 720
	testFPS      = 30
	testRate     = 48000
	testChannels = 2
	testSeconds  = 20
)

// testInfo describes the samples testSamples makes.
var testInfo = media.StreamInfo{
	Width: testW, Height: testH, FPS: testFPS, VideoCodec: media.H264,
	AudioConfig:     []byte{0x11, 0x90}, // AAC-LC, 48 kHz, stereo
	AudioSampleRate: testRate, AudioChannels: testChannels,
}

var (
	samplesOnce sync.Once
	samples     []media.Sample
	samplesErr  error
)

// testSamples returns testSeconds of H264 (keyframe every second) and AAC
// samples in time order, encoded once per test binary by a real pipeline.
func testSamples(t *testing.T) []media.Sample {
	t.Helper()
	samplesOnce.Do(func() { samples, samplesErr = encodeSamples() })
	if samplesErr != nil {
		t.Fatalf("encode test input: %v", samplesErr)
	}
	return samples
}

func encodeSamples() ([]media.Sample, error) {
	initGst()
	desc := fmt.Sprintf("videotestsrc num-buffers=%d pattern=ball ! video/x-raw,width=%d,height=%d,framerate=%d/1 ! "+
		"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d ! h264parse config-interval=-1 ! "+
		"video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=v sync=false "+
		"audiotestsrc num-buffers=%d samplesperbuffer=1024 wave=sine ! audio/x-raw,rate=%d,channels=%d ! "+
		"avenc_aac ! aacparse ! audio/mpeg,stream-format=raw ! appsink name=a sync=false",
		testSeconds*testFPS, testW, testH, testFPS, testFPS,
		testSeconds*testRate/1024+1, testRate, testChannels)
	p, err := gst.NewPipelineFromString(desc)
	if err != nil {
		return nil, err
	}
	defer p.SetState(gst.StateNull)
	if err := p.SetState(gst.StatePlaying); err != nil {
		return nil, err
	}
	var out []media.Sample
	for _, kind := range []media.Kind{media.Video, media.Audio} {
		name, codec := "v", media.H264
		if kind == media.Audio {
			name, codec = "a", media.AAC
		}
		el, err := p.GetElementByName(name)
		if err != nil {
			return nil, err
		}
		sink := app.SinkFromElement(el)
		first := time.Duration(-1)
		for {
			s := sink.TryPullSample(gst.ClockTime(60 * time.Second))
			if s == nil {
				break
			}
			b := s.GetBuffer()
			smp := media.Sample{Kind: kind, Codec: codec, Data: b.Bytes(),
				PTS: time.Duration(b.PresentationTimestamp()), Duration: time.Duration(b.Duration()),
				Keyframe: kind == media.Video && !b.HasFlags(gst.BufferFlagDeltaUnit)}
			if kind == media.Audio {
				smp.Keyframe = true
			}
			// Each stream starts at 0 (x264enc offsets its timestamps by 1000 h).
			if first < 0 {
				first = smp.PTS
			}
			smp.PTS -= first
			smp.DTS = smp.PTS
			out = append(out, smp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PTS < out[j].PTS })
	if len(out) < testSeconds*testFPS {
		return nil, fmt.Errorf("only %d samples", len(out))
	}
	return out, nil
}

// offset shifts samples as a mixer's running time would (the room started earlier).
func offset(in []media.Sample, d time.Duration) []media.Sample {
	out := make([]media.Sample, len(in))
	for i, s := range in {
		s.PTS += d
		s.DTS += d
		out[i] = s
	}
	return out
}
