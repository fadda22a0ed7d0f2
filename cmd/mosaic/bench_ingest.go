package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/bench"
)

func init() {
	benchCommands = append(benchCommands, benchIngestCmd, benchIngestClientsCmd)
}

func benchIngestCmd() *cobra.Command {
	var cfg bench.IngestConfig
	var logLevel string
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Measure how many WHIP publishers one core of the ingest server holds",
		Long: `Start an ingest server in this process with rooms that only count packets (no
mixing), connect --publishers WHIP publishers replaying an encoded clip from one
child process, and measure this process's CPU time (getrusage RUSAGE_SELF: every
thread of the server, none of the child's publishers) over --duration once all
are connected. Prints publishers per core and setup times (room join during the
WHIP POST until the first RTP packet in the room).`,
		Example: `  mosaic bench ingest --publishers 20 --duration 20s
  mosaic bench ingest --file clip.webm --publishers 8`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			cfg.Log = newLogger(logLevel)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cfg.Clip == "" {
				dir, err := os.MkdirTemp("", "mosaic-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				fmt.Fprintln(cmd.ErrOrStderr(), "making a 5 s 720p VP8/Opus clip with ffmpeg…")
				if cfg.Clip, err = bench.MakeClip(ctx, dir, 5); err != nil {
					return err
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.Clients = func(args []string) *exec.Cmd {
				return exec.Command(self, append([]string{"bench", "ingest-clients"}, args...)...)
			}
			res, err := bench.RunIngest(ctx, cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "publishers        %d connected of %d\n", res.Connected, res.Publishers)
			fmt.Fprintf(out, "window            %s\n", res.Window.Round(time.Millisecond))
			fmt.Fprintf(out, "server cpu        %s (%.3f cores)\n", res.ServerCPU.Round(time.Millisecond), res.CoresUsed)
			fmt.Fprintf(out, "publishers/core   %.1f\n", res.PublishersPerCore)
			fmt.Fprintf(out, "setup cpu         %s for all publishers\n", res.SetupCPU.Round(time.Millisecond))
			fmt.Fprintf(out, "setup time        p50 %s  p95 %s  max %s\n", res.SetupP50.Round(time.Millisecond),
				res.SetupP95.Round(time.Millisecond), res.SetupMax.Round(time.Millisecond))
			fmt.Fprintf(out, "received          %d packets, %.2f Mbit/s per publisher\n", res.Packets, res.BitratePerPublisher/1e6)
			fmt.Fprintf(out, "cost              %.2f cores per Gbit/s received\n", res.CoresPerGbps)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Publishers, "publishers", 4, "WHIP publishers to connect (1..1000)")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measurement window once all are connected")
	f.StringVar(&cfg.Clip, "file", "", "WebM clip every publisher replays (default: make one with ffmpeg)")
	f.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 60*time.Second, "wait this long for every publisher's first packet")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	annotateEnv(cmd)
	return cmd
}

// benchIngestClientsCmd is the child process of `bench ingest`.
func benchIngestClientsCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "ingest-clients",
		Short:              "Publishers of `mosaic bench ingest` (run by it)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := bench.ParseClientArgs(args)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return bench.RunIngestClients(ctx, c)
		},
	}
}
