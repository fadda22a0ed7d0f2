package publisher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/webrtc/v4"
)

const (
	patternWidth   = 640 // the videotest driver offers 640x480 only
	patternHeight  = 480
	patternBitRate = 1_000_000
	patternGOP     = 60
)

// patternSource is a live test picture and tone through real encoders
// (libvpx or x264, libopus). Frames come paced by the drivers.
type patternSource struct {
	codec  string
	video  mediadevices.EncodedReadCloser
	audio  mediadevices.EncodedReadCloser
	closed sync.Once
}

func openTestPattern(codecName string) (*patternSource, error) {
	tracks, err := acquireDevices()
	if err != nil {
		return nil, err
	}
	s := &patternSource{codec: codecName}
	mime := webrtc.MimeTypeVP8
	if codecName == codecH264 {
		mime = webrtc.MimeTypeH264
	}
	for _, t := range tracks {
		var err error
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			s.video, err = t.NewEncodedReader(mime)
		case webrtc.RTPCodecTypeAudio:
			s.audio, err = t.NewEncodedReader(webrtc.MimeTypeOpus)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("encoder for %s: %w", t.Kind(), err)
		}
	}
	if s.video == nil || s.audio == nil {
		s.Close()
		return nil, errors.New("test devices gave no video or no audio track")
	}
	return s, nil
}

// capability is the video RTP codec for the chosen encoder.
func (s *patternSource) capability() webrtc.RTPCodecCapability {
	if s.codec == codecH264 {
		return webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}

// forceKeyframe asks the video encoder for a key frame (on PLI/FIR).
func (s *patternSource) forceKeyframe() {
	if kc, ok := s.video.Controller().(codec.KeyFrameController); ok {
		_ = kc.ForceKeyFrame()
	}
}

// pump reads one encoder until ctx ends and sends what it gives.
func (s *patternSource) pump(ctx context.Context, r mediadevices.EncodedReadCloser, video bool, clock float64, start time.Time, dst *trackSender) error {
	for ctx.Err() == nil {
		buf, release, err := r.Read()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("encoder: %w", err)
		}
		data := append([]byte(nil), buf.Data...)
		release()
		f := frame{
			video:    video,
			data:     data,
			pts:      time.Since(start),
			duration: time.Duration(float64(buf.Samples) / clock * float64(time.Second)),
		}
		if err := dst.write(f); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the encoders and this user of the drivers. Call it only
// after every pump returned.
func (s *patternSource) Close() error {
	s.closed.Do(func() {
		if s.video != nil {
			_ = s.video.Close()
		}
		if s.audio != nil {
			_ = s.audio.Close()
		}
		releaseDevices()
	})
	return nil
}
