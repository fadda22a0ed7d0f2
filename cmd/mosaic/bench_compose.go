package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/compose"
	"github.com/mosaic-rtc/mosaic/mixer"
)

func init() { benchCommands = append(benchCommands, benchComposeCmd) }

func benchComposeCmd() *cobra.Command {
	var (
		inputs, bare, logLevel string
		n, width, height, fps  int
	)
	cmd := &cobra.Command{
		Use:   "compose",
		Short: "Measure offline composition speed (multiple of real time) and CPU against the bare GStreamer pipeline",
		Long: `Split N reference clips (p1.webm… from make-inputs.sh) into raw track files,
render them as a grid (compose.Render, in this process) and measure wall time
and CPU time (getrusage RUSAGE_SELF around the render). Then run
bare-composite.sh on the same clips (decode → compositor → x264 veryfast +
AAC → MP4) and measure the child's CPU time. Prints speed (media seconds per
wall second) and CPU seconds per media second of both, and their ratio.`,
		Example: `  mosaic bench compose --inputs ~/clips --bare ../shared/bench/bare-composite.sh`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			log := newLogger(logLevel)
			ctx := cmd.Context()
			if inputs == "" {
				return fmt.Errorf("--inputs: a directory of p1.webm… (make-inputs.sh DIR 10 4)")
			}
			dir, err := os.MkdirTemp("", "mosaic-bench-compose-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			var tracks []compose.TrackFile
			start := time.Now()
			for i := range n {
				clip := filepath.Join(inputs, fmt.Sprintf("p%d.webm", i%4+1))
				files, err := compose.SplitClip(ctx, clip, dir, fmt.Sprintf("p%d", i+1), start)
				if err != nil {
					return err
				}
				tracks = append(tracks, files...)
			}
			out := filepath.Join(dir, "composition.mp4")
			cpu0, t0 := selfCPU(), time.Now()
			err = compose.Render(ctx, compose.Spec{Tracks: tracks, Layout: mixer.Layout{Kind: mixer.LayoutGrid},
				Width: width, Height: height, FPS: fps, Out: out, Log: log})
			wall, cpu := time.Since(t0), selfCPU()-cpu0
			if err != nil {
				return err
			}
			media, err := duration(ctx, out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "compose: %d participants %dx%d@%d, %.2f s of media in %.2f s: %.2fx real time, %.3f CPU s per media s\n",
				n, width, height, fps, media, wall.Seconds(), media/wall.Seconds(), cpu.Seconds()/media)
			fmt.Fprintf(w, "         CPU-bound on %d idle cores: up to %.2fx real time\n", runtime.NumCPU(), float64(runtime.NumCPU())*media/cpu.Seconds())
			if bare == "" {
				return nil
			}
			bout := filepath.Join(dir, "bare.mp4")
			bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			c := exec.CommandContext(bctx, "bash", bare, inputs, fmt.Sprint(n), bout)
			c.Stderr = cmd.ErrOrStderr()
			t0 = time.Now()
			if err := c.Run(); err != nil {
				return fmt.Errorf("%s: %w", bare, err)
			}
			bwall := time.Since(t0)
			bcpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
			bmedia, err := duration(ctx, bout)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "bare:    %.2f s of media in %.2f s: %.2fx real time, %.3f CPU s per media s\n",
				bmedia, bwall.Seconds(), bmedia/bwall.Seconds(), bcpu.Seconds()/bmedia)
			fmt.Fprintf(w, "ratio:   compose uses %.2fx the bare pipeline's CPU per media second\n",
				(cpu.Seconds()/media)/(bcpu.Seconds()/bmedia))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&inputs, "inputs", "", "directory of the reference clips p1.webm…")
	f.StringVar(&bare, "bare", "", "bare-composite.sh to compare with (empty: skip)")
	f.IntVar(&n, "participants", 4, "participants")
	f.IntVar(&width, "width", 1280, "picture width")
	f.IntVar(&height, "height", 720, "picture height")
	f.IntVar(&fps, "fps", 30, "frame rate")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func duration(ctx context.Context, path string) (float64, error) {
	d, err := compose.MediaDuration(ctx, path)
	return d.Seconds(), err
}
