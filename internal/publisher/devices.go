package publisher

import (
	"fmt"
	"sync"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/codec/x264"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest" // test tone driver
	_ "github.com/pion/mediadevices/pkg/driver/videotest" // test picture driver
	"github.com/pion/mediadevices/pkg/prop"
)

// devices are the test drivers, opened once per process: a driver can be
// opened only once, so every publisher reads the same tracks through its own
// encoders (mediadevices fans a track out to many readers).
var devices struct {
	mu     sync.Mutex
	refs   int
	tracks []mediadevices.Track
}

func acquireDevices() ([]mediadevices.Track, error) {
	devices.mu.Lock()
	defer devices.mu.Unlock()
	if devices.refs == 0 {
		tracks, err := openDevices()
		if err != nil {
			return nil, err
		}
		devices.tracks = tracks
	}
	devices.refs++
	return devices.tracks, nil
}

// releaseDevices closes the drivers with the last user; no encoder may be
// reading then (the drivers' readers do not wake up when closed mid-read).
func releaseDevices() {
	devices.mu.Lock()
	defer devices.mu.Unlock()
	devices.refs--
	if devices.refs > 0 {
		return
	}
	for _, t := range devices.tracks {
		_ = t.Close()
	}
	devices.tracks = nil
}

func openDevices() ([]mediadevices.Track, error) {
	vp8, err := vpx.NewVP8Params()
	if err != nil {
		return nil, fmt.Errorf("vp8 params: %w", err)
	}
	vp8.BitRate, vp8.KeyFrameInterval = patternBitRate, patternGOP
	h264, err := x264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("x264 params: %w", err)
	}
	h264.BitRate, h264.KeyFrameInterval, h264.Preset = patternBitRate, patternGOP, x264.PresetUltrafast
	op, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("opus params: %w", err)
	}
	op.BitRate = 64_000
	selector := mediadevices.NewCodecSelector(
		mediadevices.WithVideoEncoders(&vp8, &h264),
		mediadevices.WithAudioEncoders(&op),
	)
	stream, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Video: func(c *mediadevices.MediaTrackConstraints) {
			c.Width = prop.Int(patternWidth)
			c.Height = prop.Int(patternHeight)
			c.FrameRate = prop.Float(30)
		},
		Audio: func(c *mediadevices.MediaTrackConstraints) {
			c.SampleRate = prop.Int(48000)
			c.ChannelCount = prop.Int(2)
		},
		Codec: selector,
	})
	if err != nil {
		return nil, fmt.Errorf("open test devices: %w", err)
	}
	return stream.GetTracks(), nil
}
