package bench

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/mixer"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// DriftConfig configures a lip-sync drift run: one flash-and-beep clip of
// Duration is played in real time through a room's mixer, the composite is
// recorded in segments, and every flash is paired with its beep.
type DriftConfig struct {
	Duration   time.Duration // media time (default 30 min)
	Clip       string        // a flash-and-beep clip at least Duration long; "": made in ClipDir
	ClipDir    string        // where the long clip is made (a subdirectory per length)
	MakeInputs string        // path of make-inputs.sh
	Segment    time.Duration // recorded segment length (default 1 min)
	Out        io.Writer
	Log        *slog.Logger
}

// DriftPoint is one flash/beep pair: when it happened in the composite and
// beep − flash.
type DriftPoint struct {
	At     time.Duration
	Offset time.Duration
}

// DriftResult is what a drift run measured.
type DriftResult struct {
	Points    []DriftPoint
	PerHour   time.Duration // least-squares slope of the offset, per hour of media
	FirstMed  time.Duration // median offset over the first tenth of the run
	LastMed   time.Duration // median offset over the last tenth
	Worst     time.Duration // largest |offset|
	MediaTime time.Duration
}

// RunDrift runs the drift measurement and prints its figures.
func RunDrift(ctx context.Context, cfg DriftConfig) (DriftResult, error) {
	if cfg.Duration == 0 {
		cfg.Duration = 30 * time.Minute
	}
	if cfg.Duration < 5*time.Second || cfg.Duration > 4*time.Hour {
		return DriftResult{}, fmt.Errorf("%w: duration %s (want 5s..4h)", ErrBadConfig, cfg.Duration)
	}
	if cfg.Segment <= 0 {
		cfg.Segment = time.Minute
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	clip := cfg.Clip
	if clip == "" {
		var err error
		if clip, err = driftClip(ctx, cfg); err != nil {
			return DriftResult{}, err
		}
	}
	tmp, err := os.MkdirTemp("", "mosaic-drift-")
	if err != nil {
		return DriftResult{}, err
	}
	if os.Getenv("MOSAIC_KEEP_MEDIA") == "" {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintf(cfg.Out, "drift: keeping the recording in %s\n", tmp)
	}
	segs, err := recordDrift(ctx, cfg, clip, tmp)
	if err != nil {
		return DriftResult{}, err
	}
	fmt.Fprintf(cfg.Out, "drift: joining %d segments and analysing them\n", len(segs))
	paths := make([]string, len(segs))
	for i, s := range segs {
		paths[i] = s.Path
	}
	whole := filepath.Join(tmp, "composite.mp4")
	if err := recorder.Concat(ctx, paths, whole); err != nil {
		return DriftResult{}, err
	}
	flashes, err := mediatest.DetectFlashes(whole, image.Rectangle{})
	if err != nil {
		return DriftResult{}, err
	}
	beeps, err := mediatest.DetectBeeps(whole)
	if err != nil {
		return DriftResult{}, err
	}
	var res DriftResult
	for _, f := range flashes {
		// The first seconds are before the sender reports settled the offsets.
		if off, ok := nearest(f, beeps); ok && f >= 3 {
			res.Points = append(res.Points, DriftPoint{At: seconds(f), Offset: seconds(off)})
		}
	}
	last := segs[len(segs)-1]
	res.MediaTime = last.Start + last.Duration
	if len(res.Points) < 3 {
		return res, fmt.Errorf("%w: only %d flash/beep pairs in %s of composite", ErrNoMedia, len(res.Points), res.MediaTime)
	}
	res.summarize()
	fmt.Fprintf(cfg.Out, "drift: %d pairs over %s: A/V offset %+.1f ms at the start, %+.1f ms at the end, worst %.1f ms\n",
		len(res.Points), res.MediaTime.Round(time.Second), ms(res.FirstMed), ms(res.LastMed), ms(res.Worst))
	fmt.Fprintf(cfg.Out, "drift: %+.1f ms per hour (least squares over all pairs; target under 20 ms per hour)\n", ms(res.PerHour))
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// nearest is beep − flash for the beep nearest to the flash, within 0.5 s.
func nearest(flash float64, beeps []float64) (float64, bool) {
	best, bestAbs := 0.0, math.Inf(1)
	for _, b := range beeps {
		if d := math.Abs(b - flash); d < bestAbs {
			best, bestAbs = b-flash, d
		}
	}
	return best, bestAbs <= 0.5
}

// summarize fits offset = a + b·t by least squares and takes the medians
// of the first and last tenth.
func (r *DriftResult) summarize() {
	var st, so, stt, sto float64
	n := float64(len(r.Points))
	for _, p := range r.Points {
		t, o := p.At.Hours(), p.Offset.Seconds()
		st, so, stt, sto = st+t, so+o, stt+t*t, sto+t*o
		r.Worst = max(r.Worst, absDur(p.Offset))
	}
	if den := n*stt - st*st; den > 0 {
		r.PerHour = seconds((n*sto - st*so) / den)
	}
	tenth := max(len(r.Points)/10, 1)
	r.FirstMed = medianOffset(r.Points[:tenth])
	r.LastMed = medianOffset(r.Points[len(r.Points)-tenth:])
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func medianOffset(ps []DriftPoint) time.Duration {
	offs := make([]time.Duration, len(ps))
	for i, p := range ps {
		offs[i] = p.Offset
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs[len(offs)/2]
}

// driftClip makes (once) one reference clip a little longer than the run.
func driftClip(ctx context.Context, cfg DriftConfig) (string, error) {
	secs := int(math.Ceil(cfg.Duration.Seconds())) + 5
	dir := filepath.Join(cfg.ClipDir, fmt.Sprintf("drift-%ds", secs))
	clip := filepath.Join(dir, "p1.webm")
	if st, err := os.Stat(clip); err == nil && st.Size() > 0 {
		return clip, nil
	}
	if _, err := os.Stat(cfg.MakeInputs); err != nil {
		return "", fmt.Errorf("%w: no make-inputs script: %w", ErrBadConfig, err)
	}
	fmt.Fprintf(cfg.Out, "drift: making a %d s reference clip in %s\n", secs, dir)
	cctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if out, err := exec.CommandContext(cctx, "bash", cfg.MakeInputs, dir, strconv.Itoa(secs), "1").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", cfg.MakeInputs, err, out)
	}
	return clip, nil
}

// recordDrift plays the clip through a 640x360 room and records the composite.
func recordDrift(ctx context.Context, cfg DriftConfig, clip, dir string) ([]recorder.Segment, error) {
	m, err := mixer.New(mixer.Config{Room: "drift", Width: 640, Height: 360, VideoBitrateKbps: 1000, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(cctx); err != nil {
			cfg.Log.Warn("mixer close", "err", err)
		}
	}()
	var mu sync.Mutex
	var segs []recorder.Segment
	rec, err := recorder.New(recorder.Config{Dir: dir, Info: m.Info(), SegmentDuration: cfg.Segment, Log: cfg.Log,
		OnSegment: func(s recorder.Segment) {
			mu.Lock()
			segs = append(segs, s)
			mu.Unlock()
		}})
	if err != nil {
		return nil, err
	}
	r := m.Output().Subscribe("drift", 4096)
	written := make(chan error, 1)
	go func() {
		var werr error
		for s := range r.C {
			if err := rec.Write(s); err != nil && werr == nil {
				werr = err
			}
		}
		written <- werr
	}()
	feed, err := startClipFeed(m, clip, "p1", 1000, cfg.Duration)
	if err != nil {
		r.Close()
		<-written
		return nil, errors.Join(err, rec.Close(context.Background()))
	}
	start := time.Now()
	tick := time.NewTicker(time.Minute)
	waitErr := make(chan error, 1)
	go func() { waitErr <- feed.wait(ctx) }()
	var ferr error
loop:
	for {
		select {
		case ferr = <-waitErr:
			break loop
		case <-tick.C:
			fmt.Fprintf(cfg.Out, "drift: %s of %s played\n", time.Since(start).Round(time.Second), cfg.Duration)
		}
	}
	tick.Stop()
	ferr = errors.Join(ferr, feed.close())
	// Let the last frames through the encoder before the recorder ends.
	time.Sleep(500 * time.Millisecond)
	r.Close()
	werr := <-written
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := errors.Join(ferr, werr, rec.Close(cctx)); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(segs, func(i, j int) bool { return segs[i].Index < segs[j].Index })
	return segs, nil
}
