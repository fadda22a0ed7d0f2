package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/publisher"
)

func publishCmd() *cobra.Command {
	var o publisher.Options
	var logLevel string
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish a WebM file or a test pattern to a room over WHIP",
		Example: `  mosaic publish --url http://127.0.0.1:8080/rooms/demo/whip --token "$(mosaic token --room demo)" --file clip.webm
  mosaic publish --url http://127.0.0.1:8080/rooms/demo/whip --token T --test-pattern --duration 30s`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			o.Log = newLogger(logLevel)
			o.Progress = cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := publisher.Publish(ctx, o)
			fmt.Fprintf(cmd.OutOrStdout(), "sent %s: %d video frames (%d bytes), %d audio frames (%d bytes), %d packets; setup %s, rtt %s, %d NACKs, %d PLIs\n",
				st.Duration.Round(time.Millisecond), st.VideoFrames, st.VideoBytes, st.AudioFrames, st.AudioBytes, st.PacketsSent,
				st.SetupTime.Round(time.Millisecond), st.RTT.Round(time.Millisecond), st.NACKsReceived, st.PLIsReceived)
			return err
		},
	}
	f := cmd.Flags()
	f.String("config", "", "config file of `name: value` lines")
	f.StringVar(&o.URL, "url", "", "WHIP endpoint, e.g. http://127.0.0.1:8080/rooms/demo/whip")
	f.StringVar(&o.Token, "token", "", "publish token for the room")
	f.StringVar(&o.File, "file", "", "WebM file (VP8 or H.264 video, Opus audio) sent in real time")
	f.BoolVar(&o.TestPattern, "test-pattern", false, "send a generated test picture and tone instead of a file")
	f.StringVar(&o.Codec, "codec", "vp8", "video codec of the test pattern: vp8 or h264")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this much media (0: the whole file, or until Ctrl-C)")
	f.BoolVar(&o.Loop, "loop", false, "loop the file")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	_ = cmd.MarkFlagRequired("url")
	annotateEnv(cmd)
	return cmd
}
