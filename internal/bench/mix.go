package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/mosaic-rtc/mosaic/mixer"
)

// MixConfig configures a mixing benchmark: N reference clips are played in
// real time through a room's mixer (720p30 H.264 2.5 Mbit/s, the bare
// pipeline's encoder settings), and the same N clips through the bare
// GStreamer composite script as fast as it goes; both are reported as CPU
// seconds per media second.
type MixConfig struct {
	Inputs      int           // participants (clips reused in turn)
	Repeat      int           // mixer and bare runs, alternating (default 1); the median ratio is reported
	Duration    time.Duration // media time played through the mixer
	ClipDir     string        // p1.webm… (made with MakeInputs if missing)
	MakeInputs  string        // path of make-inputs.sh
	BareScript  string        // path of bare-composite.sh; empty skips the comparison
	Out         io.Writer     // progress and results (default os.Stdout)
	Log         *slog.Logger  // default: warnings only
	MixerConfig mixer.Config  // Width, Height, FPS...: zero values are the mixer's defaults
}

// MixResult is what one run measured.
type MixResult struct {
	Inputs       int
	MediaSeconds float64       // room time mixed in real time
	MixerCPU     time.Duration // this process (mixer + clip feeders) during that time
	OutputFPS    float64       // composite frames per media second
	Overruns     uint64        // leaky-queue drops in the mixer
	BareSeconds  float64       // media seconds of the bare run (its clip length)
	BareCPU      time.Duration // the bare pipeline's CPU (child rusage)
}

// MixerCPUPerSecond is the mixer's CPU seconds per media second.
func (r MixResult) MixerCPUPerSecond() float64 { return r.MixerCPU.Seconds() / r.MediaSeconds }

// BareCPUPerSecond is the bare pipeline's CPU seconds per media second (0 without a bare run).
func (r MixResult) BareCPUPerSecond() float64 {
	if r.BareSeconds == 0 {
		return 0
	}
	return r.BareCPU.Seconds() / r.BareSeconds
}

// Ratio is mixer cost over bare cost (0 without a bare run).
func (r MixResult) Ratio() float64 {
	if bare := r.BareCPUPerSecond(); bare > 0 {
		return r.MixerCPUPerSecond() / bare
	}
	return 0
}

// RunMix runs the benchmark and prints its figures to cfg.Out.
func RunMix(ctx context.Context, cfg MixConfig) (MixResult, error) {
	if cfg.Inputs < 1 || cfg.Inputs > 64 {
		return MixResult{}, fmt.Errorf("%w: inputs %d (want 1..64)", ErrBadConfig, cfg.Inputs)
	}
	if cfg.Duration < time.Second || cfg.Duration > 2*time.Hour {
		return MixResult{}, fmt.Errorf("%w: duration %s (want 1s..2h)", ErrBadConfig, cfg.Duration)
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Repeat < 1 || cfg.Repeat > 100 {
		if cfg.Repeat != 0 {
			return MixResult{}, fmt.Errorf("%w: repeat %d (want 1..100)", ErrBadConfig, cfg.Repeat)
		}
		cfg.Repeat = 1
	}
	clips, err := mixClips(ctx, cfg.ClipDir, cfg.MakeInputs, cfg.Duration)
	if err != nil {
		return MixResult{}, err
	}
	// A shared machine's speed drifts by more than the difference being
	// measured: each mixer run is paired with a bare run right after it, and
	// the pair with the median ratio is the result.
	var runs []MixResult
	for i := range cfg.Repeat {
		if cfg.Repeat > 1 {
			fmt.Fprintf(cfg.Out, "run %d of %d\n", i+1, cfg.Repeat)
		}
		res, err := runPair(ctx, cfg, clips)
		if err != nil {
			return res, err
		}
		runs = append(runs, res)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Ratio() < runs[j].Ratio() })
	res := runs[len(runs)/2]
	if cfg.Repeat > 1 {
		fmt.Fprintf(cfg.Out, "median of %d: mixer %.2f, bare %.2f CPU s per media s; ratio %.2f (runs %.2f…%.2f); rooms per 2 cores: %.1f (bare: %.1f)\n",
			len(runs), res.MixerCPUPerSecond(), res.BareCPUPerSecond(), res.Ratio(), runs[0].Ratio(), runs[len(runs)-1].Ratio(),
			2/res.MixerCPUPerSecond(), 2/res.BareCPUPerSecond())
	}
	return res, nil
}

// runPair measures the mixer, then (unless skipped) the bare pipeline, and prints both.
func runPair(ctx context.Context, cfg MixConfig, clips []string) (MixResult, error) {
	res, err := runMixer(ctx, cfg, clips)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(cfg.Out, "mixer: %d inputs, %.1f s of media, %.2f CPU s per media s (%.1f fps out, %d overruns)\n",
		res.Inputs, res.MediaSeconds, res.MixerCPUPerSecond(), res.OutputFPS, res.Overruns)
	if res.OutputFPS < 0.95*float64(fps(cfg.MixerConfig)) {
		fmt.Fprintf(cfg.Out, "mixer: warning: the composite fell behind real time (%.1f fps): this machine is overloaded and the figures are low\n", res.OutputFPS)
	}
	if cfg.BareScript == "" {
		return res, nil
	}
	if err := runBare(ctx, cfg, filepath.Dir(clips[0]), &res); err != nil {
		return res, err
	}
	fmt.Fprintf(cfg.Out, "bare:  %d inputs, %.1f s of media, %.2f CPU s per media s\n",
		res.Inputs, res.BareSeconds, res.BareCPUPerSecond())
	fmt.Fprintf(cfg.Out, "ratio: %.2f (mixer / bare); rooms per 2 cores: %.1f (bare: %.1f)\n",
		res.Ratio(), 2/res.MixerCPUPerSecond(), 2/res.BareCPUPerSecond())
	return res, nil
}

// fps is the composite's frame rate for a mixer configuration.
func fps(c mixer.Config) int {
	if c.FPS == 0 {
		return 30
	}
	return c.FPS
}

// runMixer plays the clips through a mixer in real time and measures this
// process's CPU while they play.
func runMixer(ctx context.Context, cfg MixConfig, clips []string) (MixResult, error) {
	res := MixResult{Inputs: cfg.Inputs}
	mc := cfg.MixerConfig
	if mc.Room == "" {
		mc.Room = "bench"
	}
	mc.Log = cfg.Log
	m, err := mixer.New(mc)
	if err != nil {
		return res, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(cctx); err != nil {
			cfg.Log.Warn("mixer close", "err", err)
		}
	}()
	r := m.Output().Subscribe("bench", 4096)
	defer r.Close()
	go func() {
		for range r.C {
		}
	}()
	// The clips are payloaded before the measurement starts: what is
	// measured is the room, from the packets it is handed on.
	loaded := map[string]*clipPackets{}
	feeds := make([]*packetFeed, 0, cfg.Inputs)
	defer func() {
		for _, f := range feeds {
			if err := f.close(); err != nil {
				cfg.Log.Warn("feed close", "err", err)
			}
		}
	}()
	for i := range cfg.Inputs {
		clip := clips[i%len(clips)]
		if loaded[clip] == nil {
			c, err := loadClipPackets(clip, cfg.Duration)
			if err != nil {
				return res, err
			}
			loaded[clip] = c
		}
	}
	for i := range cfg.Inputs {
		f, err := newPacketFeed(m, loaded[clips[i%len(clips)]], fmt.Sprintf("p%d", i+1), uint32(1000+2*i))
		if err != nil {
			return res, err
		}
		feeds = append(feeds, f)
	}
	start, cpu0, st0 := time.Now(), processCPU(), m.Stats()
	if err := playFeeds(ctx, feeds, start, cfg.Duration); err != nil {
		return res, err
	}
	st := m.Stats()
	res.MediaSeconds = time.Since(start).Seconds()
	res.MixerCPU = processCPU() - cpu0
	res.OutputFPS = float64(st.VideoFrames-st0.VideoFrames) / res.MediaSeconds
	res.Overruns = st.Overruns - st0.Overruns
	if st.VideoFrames == st0.VideoFrames {
		return res, fmt.Errorf("%w: the mixer produced no video", ErrNoMedia)
	}
	return res, nil
}

// runBare runs the bare composite script on the clips and takes its CPU
// from the child's rusage.
func runBare(ctx context.Context, cfg MixConfig, dir string, res *MixResult) error {
	clips, _ := filepath.Glob(filepath.Join(dir, "p*.webm"))
	if len(clips) == 0 {
		return fmt.Errorf("%w: no clips in %s", ErrNoMedia, dir)
	}
	secs, err := clipSeconds(ctx, clips[0])
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mosaic-bare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", cfg.BareScript, dir, fmt.Sprint(cfg.Inputs), filepath.Join(tmp, "bare.mp4"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s: %w: %s", ErrBareFailed, cfg.BareScript, err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("bench: no rusage for the bare pipeline")
	}
	res.BareSeconds = secs
	res.BareCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return nil
}
