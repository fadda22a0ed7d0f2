package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/bench"
)

func init() { benchCommands = append(benchCommands, benchDriftCmd) }

func benchDriftCmd() *cobra.Command {
	cfg := bench.DriftConfig{Duration: 30 * time.Minute, Segment: time.Minute}
	var logLevel string
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Measure whether the composite's lip-sync drifts over a long run",
		Long: `Play one flash-and-beep reference clip (a white picture and a 1760 Hz beep at
the start of every second, made with --make-inputs) in real time as RTP with
sender reports through one room's mixer for --duration, record the composite
in --segment files, pair every flash with its beep, and print the A/V offset
at the start and at the end and its least-squares drift per hour.`,
		Example: `  mosaic bench drift                    # 30 minutes
  mosaic bench drift --duration 5m`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			cfg.Log = newLogger(logLevel)
			cfg.Out = cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := bench.RunDrift(ctx, cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "media time played through the mixer")
	f.DurationVar(&cfg.Segment, "segment", cfg.Segment, "length of the recorded segments that are analysed")
	f.StringVar(&cfg.ClipDir, "clips", ".cache/inputs", "directory under which the long reference clip is made")
	f.StringVar(&cfg.MakeInputs, "make-inputs", "../shared/bench/make-inputs.sh", "script that makes the clip")
	f.StringVar(&logLevel, "log-level", "warn", "log level (debug, info, warn, error)")
	return cmd
}
