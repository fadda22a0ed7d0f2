// Package bench holds Mosaic's load tools; the `mosaic bench` commands are
// their command lines.
package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
)

// IngestConfig configures RunIngest.
type IngestConfig struct {
	// Publishers is how many WHIP publishers connect (default 4).
	Publishers int
	// Duration is the measurement window once every publisher is
	// connected (default 10 s).
	Duration time.Duration
	// Clip is the WebM every publisher replays in a loop.
	Clip string
	// Clients returns the child process that runs the publishers with the
	// given arguments (see ParseClientArgs). Publishers run outside this
	// process so that this process's CPU time is the server's alone.
	Clients func(args []string) *exec.Cmd
	// ConnectTimeout bounds the wait for every publisher's first packet
	// (default 60 s).
	ConnectTimeout time.Duration
	Log            *slog.Logger
}

// IngestResult is what RunIngest measured.
type IngestResult struct {
	Publishers int           // asked for
	Connected  int           // sent media
	Window     time.Duration // measurement window (wall clock)
	// ServerCPU is this process's user+system CPU time in the window;
	// CoresUsed is ServerCPU per second of wall clock.
	ServerCPU time.Duration
	CoresUsed float64
	// PublishersPerCore is Connected / CoresUsed: publishers one fully
	// busy core would hold at this load.
	PublishersPerCore float64
	// SetupCPU is the server's CPU time from the start until every
	// publisher had sent media (ICE, DTLS, SRTP setup).
	SetupCPU time.Duration
	// Setup times: room join (during the WHIP POST) until the first RTP
	// packet reached the room.
	SetupP50, SetupP95, SetupMax time.Duration
	// Packets and bytes the room received in the window, and the mean
	// bitrate per publisher.
	Packets, Bytes      uint64
	BitratePerPublisher float64
	// CoresPerGbps is CoresUsed per Gbit/s received: the cost of the
	// traffic, which stays meaningful when the publishers' process could
	// not send the clip at its full rate on a busy machine.
	CoresPerGbps float64
}

func (c *IngestConfig) defaults() error {
	if c.Publishers == 0 {
		c.Publishers = 4
	}
	if c.Publishers < 0 || c.Publishers > 1000 {
		return fmt.Errorf("%w: %d publishers (1..1000)", ErrBadConfig, c.Publishers)
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Duration < 0 || c.Duration > time.Hour {
		return fmt.Errorf("%w: duration %v", ErrBadConfig, c.Duration)
	}
	if c.Clip == "" {
		return fmt.Errorf("%w: no clip", ErrBadConfig)
	}
	if _, err := os.Stat(c.Clip); err != nil {
		return fmt.Errorf("%w: clip: %v", ErrBadConfig, err)
	}
	if c.Clients == nil {
		return fmt.Errorf("%w: no client command", ErrBadConfig)
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 60 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// RunIngest starts an ingest server in this process with a receive-only
// room registry, connects the publishers from a child process, and
// measures the server's CPU time and the publishers' setup times.
func RunIngest(ctx context.Context, cfg IngestConfig) (IngestResult, error) {
	res := IngestResult{Publishers: cfg.Publishers}
	if err := cfg.defaults(); err != nil {
		return res, err
	}
	res.Publishers = cfg.Publishers
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	iss, err := auth.NewIssuer(secret)
	if err != nil {
		return res, err
	}
	rooms := newCountingRooms()
	srv, err := ingest.New(ingest.Config{Issuer: iss, Rooms: rooms, Log: cfg.Log})
	if err != nil {
		return res, fmt.Errorf("start ingest: %w", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	tok, err := iss.Mint("bench", "bench", auth.RolePublish, 24*time.Hour)
	if err != nil {
		return res, err
	}

	start := time.Now()
	cpu0 := processCPU()
	child := cfg.Clients(ClientArgs(ClientsConfig{
		URL: "http://" + ln.Addr().String() + "/rooms/bench/whip", Token: tok, File: cfg.Clip,
		Count: cfg.Publishers, Duration: cfg.ConnectTimeout + cfg.Duration + 30*time.Second,
	}))
	child.Stdout, child.Stderr = io.Discard, io.Discard
	if cfg.Log.Enabled(ctx, slog.LevelDebug) {
		child.Stderr = os.Stderr
	}
	if err := child.Start(); err != nil {
		return res, fmt.Errorf("start publishers: %w", err)
	}
	childDone := make(chan error, 1)
	go func() { childDone <- child.Wait() }()
	defer stopChild(child, childDone)

	// Wait for every publisher's first packet.
	deadline := time.NewTimer(cfg.ConnectTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for rooms.connected() < cfg.Publishers {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-childDone:
			childDone <- err
			return res, fmt.Errorf("publishers exited before all connected (%d of %d): %v", rooms.connected(), cfg.Publishers, err)
		case <-deadline.C:
			break wait
		case <-tick.C:
		}
	}
	res.Connected = rooms.connected()
	if res.Connected == 0 {
		return res, fmt.Errorf("%w: no publisher connected in %v", ErrNoMedia, cfg.ConnectTimeout)
	}
	cpu1 := processCPU()
	res.SetupCPU = cpu1 - cpu0
	cfg.Log.Info("publishers connected", "connected", res.Connected, "after", time.Since(start).Round(time.Millisecond))

	// The measurement window.
	p0, b0 := rooms.totals()
	w0 := time.Now()
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(cfg.Duration):
	}
	res.Window = time.Since(w0)
	res.ServerCPU = processCPU() - cpu1
	p1, b1 := rooms.totals()
	res.Packets, res.Bytes = p1-p0, b1-b0
	res.CoresUsed = res.ServerCPU.Seconds() / res.Window.Seconds()
	if res.CoresUsed > 0 {
		res.PublishersPerCore = float64(res.Connected) / res.CoresUsed
	}
	res.BitratePerPublisher = float64(res.Bytes) * 8 / res.Window.Seconds() / float64(res.Connected)
	if res.Bytes > 0 {
		res.CoresPerGbps = res.CoresUsed / (float64(res.Bytes) * 8 / res.Window.Seconds() / 1e9)
	}
	setups := rooms.setupTimes()
	res.SetupP50, res.SetupP95, res.SetupMax = percentile(setups, 50), percentile(setups, 95), percentile(setups, 100)
	if res.Packets == 0 {
		return res, fmt.Errorf("%w: no packet in the window", ErrNoMedia)
	}
	return res, nil
}

// stopChild interrupts the publishers and waits for them (bounded).
func stopChild(c *exec.Cmd, done chan error) {
	_ = c.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

// percentile of durations (nearest rank); 0 for none.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}

// countingRooms is a receive-only room registry: it counts what arrives
// and keeps each participant's setup time.
type countingRooms struct {
	mu     sync.Mutex
	joined map[string]time.Time
	setup  map[string]time.Duration

	packets, bytes atomic.Uint64
}

func newCountingRooms() *countingRooms {
	return &countingRooms{joined: map[string]time.Time{}, setup: map[string]time.Duration{}}
}

func (r *countingRooms) Join(_ context.Context, _ string, p ingest.Participant) (ingest.Room, error) {
	r.mu.Lock()
	r.joined[p.ID] = time.Now()
	r.mu.Unlock()
	return &countingRoom{r: r}, nil
}

func (r *countingRooms) Watch(context.Context, string, string) (ingest.Live, error) {
	return nil, ingest.ErrNoSuchRoom
}

func (r *countingRooms) firstPacket(participant string) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.setup[participant]; !ok {
		r.setup[participant] = now.Sub(r.joined[participant])
	}
}

func (r *countingRooms) connected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.setup)
}

func (r *countingRooms) setupTimes() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]time.Duration, 0, len(r.setup))
	for _, d := range r.setup {
		out = append(out, d)
	}
	return out
}

func (r *countingRooms) totals() (packets, bytes uint64) { return r.packets.Load(), r.bytes.Load() }

type countingRoom struct{ r *countingRooms }

func (c *countingRoom) AddTrack(info media.TrackInfo, _ func()) (media.TrackSink, error) {
	return &countingSink{r: c.r, participant: info.Participant}, nil
}

func (c *countingRoom) Leave(string) {}

type countingSink struct {
	r           *countingRooms
	participant string
	seen        atomic.Bool
}

func (s *countingSink) WriteRTP(p []byte) error {
	if !s.seen.Swap(true) {
		s.r.firstPacket(s.participant)
	}
	s.r.packets.Add(1)
	s.r.bytes.Add(uint64(len(p)))
	return nil
}

func (s *countingSink) WriteSenderReport(media.SenderReport) {}
func (s *countingSink) Close() error                         { return nil }
