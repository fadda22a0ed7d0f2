package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func init() { benchCommands = append(benchCommands, benchLatencyCmd) }

type latencyOptions struct {
	room     string
	duration time.Duration
	viewers  int
}

func benchLatencyCmd() *cobra.Command {
	var c apiClient
	var o latencyOptions
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Measure glass-to-glass delay (WHEP), HLS part delay and the CPU cost of WHEP viewers",
		Long: `Publish a picture that carries its send time (16 black/white blocks, 2 ms
steps) over WHIP into a room of a running node, watch the room's composite over
WHEP, decode it and read the time back: the difference is the glass-to-glass
delay through ingest, mixer, encoder and WHEP (no camera or screen). Then
follow the room's LL-HLS video playlist and measure how long after its last
sample each part appears. With --viewers N, add N WHEP viewers and read the
node's CPU (process_cpu_seconds_total from /metrics) with and without them:
the CPU per viewer and the viewers one core holds. The node and this command
must share a clock (same machine).`,
		Example: `  mosaic bench latency --server http://127.0.0.1:8080 --token $ADMIN --duration 20s --viewers 20`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.init()
			if c.token == "" {
				return errors.New("an admin token is needed (--token or MOSAIC_TOKEN) to mint publish and view tokens")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLatency(ctx, cmd.OutOrStdout(), &c, o)
		},
	}
	addClientFlags(cmd, &c)
	f := cmd.Flags()
	f.StringVar(&o.room, "room", "bench-latency", "room to publish into and watch")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "how long each measurement runs")
	f.IntVar(&o.viewers, "viewers", 0, "extra WHEP viewers for the CPU measurement (0: skip it)")
	return cmd
}

func mint(ctx context.Context, c *apiClient, room, role string) (string, error) {
	var out struct{ Token string }
	err := c.do(ctx, "POST", "/api/tokens", map[string]any{"room": room, "role": role, "identity": "bench-" + role, "ttl": "2h"}, &out)
	return out.Token, err
}

func runLatency(ctx context.Context, w io.Writer, c *apiClient, o latencyOptions) error {
	base := strings.TrimRight(c.base, "/")
	pubTok, err := mint(ctx, c, o.room, "publish")
	if err != nil {
		return err
	}
	viewTok, err := mint(ctx, c, o.room, "view")
	if err != nil {
		return err
	}
	epoch := time.Now()
	pctx, cancelPub := context.WithCancel(ctx)
	defer cancelPub()
	var noise atomic.Bool // off while measuring delay: a clean picture reads back reliably
	pub, pubErr, err := publishStamps(pctx, base+"/rooms/"+o.room+"/whip", pubTok, epoch, &noise)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer pub.close()
	fmt.Fprintf(w, "publishing a time-stamped %dx%d VP8 picture into room %s\n", stampW, stampH, o.room)
	time.Sleep(2 * time.Second) // the mixer takes the participant in

	// WHEP glass-to-glass.
	vctx, cancelView := context.WithTimeout(ctx, o.duration+30*time.Second)
	v, err := viewStamps(vctx, base+"/rooms/"+o.room+"/whep", viewTok, epoch)
	if err != nil {
		cancelView()
		return fmt.Errorf("whep viewer: %w", err)
	}
	select {
	case <-time.After(o.duration):
	case err := <-pubErr:
		cancelView()
		return fmt.Errorf("publisher: %w", err)
	case <-ctx.Done():
	}
	v.peer.close()
	cancelView()
	d := v.delays()
	// The first second holds frames decoded from the start-up burst.
	fmt.Fprintf(w, "WHEP glass-to-glass (%d frames read back): %s\n", len(d), quantiles(d))
	fmt.Fprintf(w, "  WHEP video received: %.0f kbit/s\n", float64(v.bytes.Load())*8/1000/o.duration.Seconds())

	// HLS part availability.
	hctx, cancelHLS := context.WithTimeout(ctx, o.duration)
	pl, err := videoPlaylist(hctx, base+"/rooms/"+o.room+"/hls/index.m3u8?token="+viewTok)
	if err != nil {
		fmt.Fprintf(w, "HLS: no playlist: %v\n", err)
	} else {
		hd, err := hlsGlassToPart(hctx, pl, epoch)
		if err != nil && len(hd) == 0 {
			fmt.Fprintf(w, "HLS: %v\n", err)
		} else {
			fmt.Fprintf(w, "HLS glass-to-part (send time to the newest LL-HLS part listed, %d parts): %s\n", len(hd), quantiles(hd))
		}
	}
	cancelHLS()

	if o.viewers > 0 {
		noise.Store(true) // the composite at its full bitrate
		time.Sleep(2 * time.Second)
		if err := viewerCost(ctx, w, base, o, viewTok); err != nil {
			return err
		}
	}
	return nil
}

// viewerCost compares the node's CPU with and without o.viewers viewers.
func viewerCost(ctx context.Context, w io.Writer, base string, o latencyOptions, tok string) error {
	idle, err := cpuOver(ctx, base, o.duration)
	if err != nil {
		return err
	}
	var bytes atomic.Int64
	var peers []*benchPeer
	defer func() {
		for _, p := range peers {
			p.close()
		}
	}()
	for i := 0; i < o.viewers; i++ {
		p, err := loadViewer(ctx, base+"/rooms/"+o.room+"/whep", tok, &bytes)
		if err != nil {
			return fmt.Errorf("viewer %d: %w", i+1, err)
		}
		peers = append(peers, p)
	}
	time.Sleep(2 * time.Second)
	bytes.Store(0)
	loaded, err := cpuOver(ctx, base, o.duration)
	if err != nil {
		return err
	}
	perViewer := (loaded - idle) / float64(o.viewers)
	kbps := float64(bytes.Load()) * 8 / 1000 / o.duration.Seconds() / float64(o.viewers)
	fmt.Fprintf(w, "node CPU: %.1f%% of a core without extra viewers, %.1f%% with %d (%.0f kbit/s each)\n",
		idle*100, loaded*100, o.viewers, kbps)
	if perViewer > 0 {
		fmt.Fprintf(w, "  %.2f%% of a core per WHEP viewer: one core holds about %.0f viewers\n", perViewer*100, 1/perViewer)
	} else {
		fmt.Fprintf(w, "  viewers cost less than the measurement noise\n")
	}
	return nil
}

var cpuRe = regexp.MustCompile(`(?m)^process_cpu_seconds_total ([0-9.e+]+)$`)

// cpuOver is the node's CPU use (cores) over d, from /metrics.
func cpuOver(ctx context.Context, base string, d time.Duration) (float64, error) {
	read := func() (float64, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		m := cpuRe.FindSubmatch(b)
		if m == nil {
			return 0, errors.New("/metrics has no process_cpu_seconds_total")
		}
		return strconv.ParseFloat(string(m[1]), 64)
	}
	a, err := read()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	b, err := read()
	if err != nil {
		return 0, err
	}
	return (b - a) / time.Since(began).Seconds(), nil
}

func quantiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("median %d ms, p95 %d ms, min %d ms, max %d ms",
		q(0.5).Milliseconds(), q(0.95).Milliseconds(), s[0].Milliseconds(), s[len(s)-1].Milliseconds())
}
