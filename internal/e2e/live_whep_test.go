package e2e

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestWHEPFanOut: 50 pion viewers watch one room while one more viewer
// never reads its tracks. Every reading viewer gets a steady, decodable
// stream showing the publisher, and the stalled one slows nobody down.
func TestWHEPFanOut(t *testing.T) {
	const viewers, w, h = 50, 320, 180
	s := startServer(t, "--width", fmt.Sprint(w), "--height", fmt.Sprint(h), "--video-bitrate", "300")
	s.publishLoop(t, "fan", filepath.Join(testenv.Inputs(t), "p1.webm"))
	url, tok := s.base+"/rooms/fan/whep", s.token("fan", "view")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	stalled, err := dialWHEP(ctx, url, tok, "", true)
	if err != nil {
		t.Fatalf("stalled viewer: %v", err)
	}
	defer stalled.close()

	dir := t.TempDir()
	peers := make([]*whepPeer, viewers)
	errs := make([]error, viewers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // connect a few at a time
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			peers[i], errs[i] = dialWHEP(ctx, url, tok, filepath.Join(dir, fmt.Sprintf("v%02d.h264", i)), false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
	}
	var live struct {
		Viewers int `json:"viewers"`
	}
	if code := s.call("GET", "/rooms/fan/live", "", nil, &live); code != 200 || live.Viewers != viewers+1 {
		t.Errorf("live status: %d, %d viewers (want %d)", code, live.Viewers, viewers+1)
	}

	// Count frames over the same window for everyone.
	time.Sleep(2 * time.Second) // every viewer past its first keyframe
	before := make([]peerStats, viewers)
	for i, p := range peers {
		before[i] = p.stats()
	}
	const window = 6 * time.Second
	time.Sleep(window)
	counts := make([]int, viewers)
	var worstGap time.Duration
	for i, p := range peers {
		st := p.stats()
		counts[i] = st.frames - before[i].frames
		worstGap = max(worstGap, st.maxGap)
	}
	for _, p := range peers {
		p.close()
	}
	sorted := append([]int{}, counts...)
	sort.Ints(sorted)
	median := sorted[viewers/2]
	t.Logf("frames per viewer in %s: min %d, median %d, max %d; worst gap between frames %s", window,
		sorted[0], median, sorted[viewers-1], worstGap)
	if want := int(window.Seconds() * 30 * 0.8); median < want {
		t.Errorf("median viewer got %d frames in %s, want ≥ %d (30 fps)", median, window, want)
	}
	for i, c := range counts {
		if c < median*8/10 {
			t.Errorf("viewer %d got %d frames, the median viewer %d", i, c, median)
		}
	}
	if worstGap > 2*time.Second {
		t.Errorf("a viewer waited %s between two frames", worstGap)
	}

	// Every viewer's stream decodes, and shows the publisher (not a black
	// composite). Decoding 50 streams is the slow part: small frames.
	for i := range peers {
		path := filepath.Join(dir, fmt.Sprintf("v%02d.h264", i))
		frames := mediatest.Frames(t, path, 80, 45, 0)
		if len(frames) < median {
			t.Errorf("viewer %d: %d frames decode, %d received in the window alone", i, len(frames), counts[i])
			continue
		}
		if mediatest.IsBlack(frames[len(frames)-1], 80, image.Rect(10, 5, 70, 40)) {
			t.Errorf("viewer %d: the last decoded frame is black", i)
		}
	}
}
