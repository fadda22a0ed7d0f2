package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/bench"
)

func init() { benchCommands = append(benchCommands, benchMixCmd) }

func benchMixCmd() *cobra.Command {
	cfg := bench.MixConfig{Inputs: 4, Duration: 20 * time.Second}
	var logLevel string
	cmd := &cobra.Command{
		Use:   "mix",
		Short: "Measure a room's mixer against the bare GStreamer composite",
		Long: `Play --inputs reference clips (VP8 + Opus, made with --make-inputs when the clip
directory has none long enough) in real time as RTP through one room's mixer
(720p30 H.264 at 2.5 Mbit/s, x264 veryfast/zerolatency, AAC and Opus) for
--duration, and print this process's CPU seconds per media second
(getrusage). Then run the bare composite script on the same clips as fast as it
goes, take its CPU from the child's rusage, and print the ratio and rooms per
2 cores. --bare "" skips the comparison. The machine's speed drifts: --repeat
pairs each mixer run with a bare run and reports the median ratio.`,
		Example: `  mosaic bench mix --inputs 4
  mosaic bench mix --inputs 9 --duration 30s --clips .cache/inputs
  mosaic bench mix --inputs 4 --repeat 5`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			cfg.Log = newLogger(logLevel)
			cfg.Out = cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := bench.RunMix(ctx, cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Inputs, "inputs", cfg.Inputs, "participants in the room (clips are reused in turn)")
	f.IntVar(&cfg.Repeat, "repeat", 1, "mixer and bare runs, alternating; the pair with the median ratio is the result")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "media time mixed in real time")
	f.StringVar(&cfg.ClipDir, "clips", ".cache/inputs", "directory of reference clips p1.webm…")
	f.StringVar(&cfg.MakeInputs, "make-inputs", "../shared/bench/make-inputs.sh", "script that makes the clips when missing")
	f.StringVar(&cfg.BareScript, "bare", "../shared/bench/bare-composite.sh", `bare GStreamer composite script ("" to skip)`)
	f.StringVar(&logLevel, "log-level", "warn", "log level (debug, info, warn, error)")
	return cmd
}
