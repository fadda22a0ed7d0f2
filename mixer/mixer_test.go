package mixer

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// newMixer starts a mixer closed at cleanup.
func newMixer(t testing.TB, cfg Config) *Mixer {
	t.Helper()
	if cfg.Room == "" {
		cfg.Room = t.Name()
	}
	if cfg.Log == nil {
		level := slog.LevelWarn
		// MOSAIC_TEST_LOG=debug shows the mixer's debug log (lip-sync offsets, element warnings).
		if os.Getenv("MOSAIC_TEST_LOG") == "debug" {
			level = slog.LevelDebug
		}
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

func TestEmptyRoomProducesAllStreams(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180})
	info := m.Info()
	if len(info.AudioConfig) < 2 || info.AudioSampleRate != 48000 || info.AudioChannels != 2 {
		t.Fatalf("info = %+v, want AAC config for 48 kHz stereo", info)
	}
	r := m.Output().Subscribe("test", 1024)
	defer r.Close()
	counts := map[media.Codec]int{}
	keyframe := false
	lastAAC := time.Duration(-1)
	deadline := time.After(10 * time.Second)
	for counts[media.H264] < 30 || counts[media.AAC] < 40 || counts[media.Opus] < 40 || !keyframe {
		select {
		case s, ok := <-r.C:
			if !ok {
				t.Fatal("output closed")
			}
			counts[s.Codec]++
			if s.Codec == media.AAC {
				// One AAC frame is 1024 samples: the timeline moves by that
				// much from frame to frame, from the very first one on.
				const frame = 1024 * time.Second / 48000
				if step := s.PTS - lastAAC; lastAAC >= 0 && (step < frame-time.Millisecond || step > frame+time.Millisecond) {
					t.Fatalf("AAC frame %d at %v, %v after the one before, want %v", counts[media.AAC], s.PTS, step, frame)
				}
				lastAAC = s.PTS
			}
			if s.Codec == media.H264 && s.Keyframe {
				keyframe = true
				if nals := nalTypes(s.Data); !nals[7] || !nals[8] || !nals[5] {
					t.Fatalf("keyframe NAL types %v, want SPS (7), PPS (8) and IDR (5)", nals)
				}
			}
		case <-deadline:
			t.Fatalf("after 10 s: %v samples, keyframe %v", counts, keyframe)
		}
	}
	st := m.Stats()
	if st.Inputs != 0 || st.VideoFrames == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAddTrackRejectsUnsupportedCodec(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180})
	_, err := m.AddTrack(media.TrackInfo{Kind: media.Audio, MimeType: "audio/PCMU", ClockRate: 8000}, nil)
	if !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatalf("err = %v, want ErrUnsupportedCodec", err)
	}
}

// nalTypes lists the NAL unit types of an Annex-B access unit.
func nalTypes(au []byte) map[int]bool {
	types := map[int]bool{}
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			types[int(au[i+3]&0x1f)] = true
			i += 3
		}
	}
	return types
}
