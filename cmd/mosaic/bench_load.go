package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/bench"
)

func init() { benchCommands = append(benchCommands, benchLoadCmd) }

func benchLoadCmd() *cobra.Command {
	var cfg bench.LoadConfig
	var logLevel string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load a running node (or cluster) with rooms of publishers and viewers and see what gives first",
		Long: `Open --rooms rooms on a running node, each with --publishers WHIP publishers
replaying a clip and, once they are up, --viewers WHEP viewers of the room's
composite for --duration. Prints per room the node that served it, the
composite frame rate the viewers received and the frames they missed, what
admission control answered to one more room at full load, each node's
announced load, and what broke first. Publishers and viewers run in this
process: run it on another machine, or count its CPU in.`,
		Example: `  mosaic bench load --server http://127.0.0.1:8080 --token $ADMIN --rooms 2 --publishers 2 --viewers 2
  mosaic bench load --rooms 4 --publishers 1 --viewers 0 --duration 30s --file clip.webm`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("MOSAIC_TOKEN")
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
				fmt.Fprintln(cmd.ErrOrStderr(), "making a 10 s 720p VP8/Opus clip with ffmpeg…")
				if cfg.Clip, err = bench.MakeClip(ctx, dir, 10); err != nil {
					return err
				}
			}
			res, err := bench.RunLoad(ctx, cfg)
			if err != nil {
				return err
			}
			printLoad(cmd, cfg, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "a node's URL")
	f.StringVar(&cfg.Token, "token", "", "admin token (env MOSAIC_TOKEN)")
	f.IntVar(&cfg.Rooms, "rooms", 1, "rooms to open (1..50)")
	f.IntVar(&cfg.Publishers, "publishers", 2, "publishers per room (1..16)")
	f.IntVar(&cfg.Viewers, "viewers", 1, "WHEP viewers per room (0..50)")
	f.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long the viewers watch once the publishers are up")
	f.DurationVar(&cfg.Warmup, "warmup", 0, "wait between the publishers and the viewers (default 3 s + 300 ms per publisher)")
	f.StringVar(&cfg.Clip, "file", "", "WebM clip every publisher replays (default: make one with ffmpeg)")
	f.IntVar(&cfg.FPS, "fps", 30, "the composite frame rate the node is configured for")
	f.StringVar(&cfg.Prefix, "room-prefix", "load", "room names are PREFIX-1, PREFIX-2, …")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}

func printLoad(cmd *cobra.Command, cfg bench.LoadConfig, res bench.LoadResult) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%-12s %-22s %5s %7s %7s %9s %9s %8s\n", "room", "node", "pubs", "refused", "viewers", "fps", "min fps", "dropped")
	for _, r := range res.Rooms {
		node := r.Node
		if node == "" {
			node = "-"
		}
		fmt.Fprintf(out, "%-12s %-22s %2d/%-2d %7d %3d/%-3d %9.1f %9.1f %8d\n", r.Room, node, r.Publishers, cfg.Publishers,
			r.Refused, r.Viewers, cfg.Viewers, r.FPS, r.MinFPS, r.Dropped)
		for i, e := range r.Errors {
			if i == 3 {
				fmt.Fprintf(out, "    … %d more errors\n", len(r.Errors)-3)
				break
			}
			fmt.Fprintf(out, "    %s\n", e)
		}
	}
	for _, n := range res.Nodes {
		fmt.Fprintf(out, "node %-12s %-26s rooms %d  participants %d  viewers %d  cpu %.0f%% of %d cores%s\n", n.ID, n.URL,
			n.Rooms, n.Participants, n.Viewers, 100*n.CPU, n.Cores, map[bool]string{true: "  draining"}[n.Draining])
	}
	fmt.Fprintf(out, "one more room    %s\n", res.Probe)
	if res.Breaks == "" {
		fmt.Fprintln(out, "breaks first     nothing at this load")
	} else {
		fmt.Fprintf(out, "breaks first     %s\n", strings.TrimSpace(res.Breaks))
	}
}
