package ingest

import (
	"context"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/mixer"
	"github.com/pion/rtp"
)

// mixerRooms puts every track into one real mixer, through a sink that
// notes the width of each forwarded keyframe.
type mixerRooms struct {
	m     *mixer.Mixer
	mu    sync.Mutex
	sinks []*widthSink
}

func (r *mixerRooms) Join(context.Context, string, Participant) (Room, error) { return r, nil }
func (r *mixerRooms) Watch(context.Context, string, string) (Live, error) {
	return nil, ErrNoSuchRoom
}
func (r *mixerRooms) Leave(string) {}

func (r *mixerRooms) AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error) {
	in, err := r.m.AddTrack(info, requestKeyframe)
	if err != nil {
		return nil, err
	}
	s := &widthSink{TrackSink: in}
	r.mu.Lock()
	r.sinks = append(r.sinks, s)
	r.mu.Unlock()
	return s, nil
}

func (r *mixerRooms) sink() *widthSink {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sinks) == 0 {
		return nil
	}
	return r.sinks[0]
}

type widthSink struct {
	media.TrackSink
	mu     sync.Mutex
	widths []int // of the forwarded keyframes, in order
}

// DesiredSize passes the mixer's hint through, as a room's tee must.
func (s *widthSink) DesiredSize() (int, int) {
	h, ok := s.TrackSink.(media.SizeHinter)
	if !ok {
		return -1, -1
	}
	return h.DesiredSize()
}

func (s *widthSink) WriteRTP(b []byte) error {
	var pkt rtp.Packet
	if pkt.Unmarshal(b) == nil {
		if key, w, _ := vp8KeyframeStart(pkt.Payload); key && w > 0 {
			s.mu.Lock()
			s.widths = append(s.widths, w)
			s.mu.Unlock()
		}
	}
	return s.TrackSink.WriteRTP(b)
}

func (s *widthSink) lastWidth() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.widths) == 0 {
		return 0, 0
	}
	return s.widths[len(s.widths)-1], len(s.widths)
}

// recordH264 writes the mixer's H264 output from its next keyframe on,
// for d, into path.
func recordH264(t *testing.T, m *mixer.Mixer, path string, d time.Duration) {
	t.Helper()
	r := m.Output().Subscribe("test", 1024)
	defer r.Close()
	m.RequestKeyframe()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var started time.Duration = -1
	deadline := time.After(d + 10*time.Second)
	for {
		select {
		case s, ok := <-r.C:
			if !ok {
				t.Fatal("mixer output closed")
			}
			if s.Codec != media.H264 || (started < 0 && !s.Keyframe) {
				continue
			}
			if started < 0 {
				started = s.PTS
			}
			if _, err := f.Write(s.Data); err != nil {
				t.Fatal(err)
			}
			if s.PTS-started >= d {
				return
			}
		case <-deadline:
			t.Fatalf("no %v of composite video", d)
		}
	}
}

// A simulcast publisher in a real mixer: the full-picture tile gets the
// 640x480 layer, a quarter-size custom tile the 160x120 one, and both show
// decoded pictures in their tile.
func TestSimulcastIntoMixer(t *testing.T) {
	const W, H = 640, 480
	simulcastFiles(t) // before the mixer runs
	m, err := mixer.New(mixer.Config{Room: "sim", Width: W, Height: H, FPS: 30,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close mixer: %v", err)
		}
	})
	rooms := &mixerRooms{m: m}
	h := newHarnessWith(t, func(c *Config) { c.Rooms = rooms })
	pub := newSimulcastPublisher(t)
	pub.publish(t, h, "sim")
	pub.send(t)

	waitFor(t, "the 640x480 layer for the whole picture", 15*time.Second, func() bool {
		s := rooms.sink()
		if s == nil {
			return false
		}
		w, _ := s.lastWidth()
		return w == 640
	})
	sink := rooms.sink()
	if w, hh := sink.DesiredSize(); w != W || hh != H {
		t.Errorf("mixer's hint %dx%d for the only participant, want %dx%d", w, hh, W, H)
	}
	dir := t.TempDir()
	// The forwarded keyframe reaches the picture after the mixer's jitter
	// buffer; the first layer forwarded may already be the 640x480 one.
	waitShown(t, m, filepath.Join(dir, "first.h264"), W, H, image.Rect(0, 0, W, H))
	full := filepath.Join(dir, "full.h264")
	recordH264(t, m, full, 2*time.Second)
	checkTile(t, full, W, H, image.Rect(0, 0, W, H))

	if err := m.SetLayout(mixer.Layout{Kind: mixer.LayoutCustom,
		Regions: []mixer.Region{{X: 0, Y: 0, W: 0.25, H: 0.25}}}); err != nil {
		t.Fatal(err)
	}
	if w, hh := sink.DesiredSize(); w != 160 || hh != 120 {
		t.Errorf("mixer's hint %dx%d for a quarter tile, want 160x120", w, hh)
	}
	_, n := sink.lastWidth()
	waitFor(t, "the 160x120 layer for a small tile", 10*time.Second, func() bool {
		w, k := sink.lastWidth()
		return w == 160 && k > n
	})
	small := filepath.Join(dir, "small.h264")
	recordH264(t, m, small, 2*time.Second)
	checkTile(t, small, W, H, image.Rect(0, 0, 160, 120))
	if st := m.Stats(); st.InputsFailed != 0 || st.Inputs != 1 {
		t.Errorf("mixer stats %+v: want one input, none failed", st)
	}
}

// waitShown records short stretches of the composite until the tile shows
// a picture, so that what follows starts with the participant in view.
func waitShown(t *testing.T, m *mixer.Mixer, path string, w, h int, tile image.Rectangle) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recordH264(t, m, path, 300*time.Millisecond)
		frames, err := mediatest.DecodeFrames(path, w, h, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) > 0 && !mediatest.IsBlack(frames[len(frames)-1], w, tile.Inset(8)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tile %v still black after 10 s", tile)
		}
	}
}

// checkTile decodes a composite and checks that the tile shows a picture
// (the test pattern, not black) in most frames and that the rest is black.
func checkTile(t *testing.T, path string, w, h int, tile image.Rectangle) {
	t.Helper()
	frames := mediatest.Frames(t, path, w, h, 0)
	if len(frames) < 30 {
		t.Fatalf("%s: %d frames decoded, want 2 s", path, len(frames))
	}
	inner := tile.Inset(8)
	shown := 0
	var black []int
	for i, f := range frames {
		if mediatest.IsBlack(f, w, inner) {
			black = append(black, i)
		} else {
			shown++
		}
	}
	if shown < len(frames)*9/10 {
		t.Errorf("%s: tile %v shows a picture in %d of %d frames (black: %v)", path, tile, shown, len(frames), black)
	}
	if tile.Max.X < w {
		outside := image.Rect(tile.Max.X+8, 8, w-8, h-8)
		last := frames[len(frames)-1]
		if !mediatest.IsBlack(last, w, outside) {
			t.Errorf("%s: outside the tile %v is not black", path, tile)
		}
	}
}
