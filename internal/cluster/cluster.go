package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// LocalRoom is the load of one room open on this node.
type LocalRoom struct {
	Name         string
	Participants int
	Viewers      int
	FPS          float64 // composite frames per second lately (0: not measured yet)
}

// Config of a node's membership in the cluster.
type Config struct {
	Redis     *redis.Client
	NodeID    string
	PublicURL string // how clients reach this node; redirects point here
	// Rooms lists the rooms open on this node.
	Rooms func() []LocalRoom
	// Authorize checks an admin request (the drain and node API).
	Authorize func(r *http.Request) error

	MaxRooms int     // new rooms refused at this many (0: no limit)
	MaxCPU   float64 // new rooms refused above this fraction of the cores (default 0.85; 1: no CPU limit)
	// With TargetFPS set, new rooms are refused while any room's composite
	// runs below MinFPSRatio × TargetFPS (0: no such limit): the node is
	// short of CPU whatever uses it.
	TargetFPS   int
	MinFPSRatio float64

	Heartbeat    time.Duration // how often the node announces itself and renews claims (1s)
	NodeTTL      time.Duration // a node not heard from this long is dead (5s)
	ClaimTTL     time.Duration // a room claim not renewed this long lapses (10s)
	DrainTimeout time.Duration // default drain deadline (5m)
	RetryAfter   time.Duration // Retry-After of a 503 at capacity (5s)
	Prefix       string        // Redis key prefix ("mosaic:")
	Log          *slog.Logger
}

func (c *Config) defaults() error {
	if c.Redis == nil || c.NodeID == "" || c.PublicURL == "" || c.Rooms == nil || c.Authorize == nil {
		return fmt.Errorf("%w: Redis, NodeID, PublicURL, Rooms and Authorize are required", ErrBadConfig)
	}
	if c.MaxCPU < 0 || c.MaxCPU > 1 || c.MaxRooms < 0 {
		return fmt.Errorf("%w: max cpu %.2f (want 0..1), max rooms %d", ErrBadConfig, c.MaxCPU, c.MaxRooms)
	}
	if c.MinFPSRatio < 0 || c.MinFPSRatio > 1 || c.TargetFPS < 0 {
		return fmt.Errorf("%w: min fps ratio %.2f (want 0..1), target fps %d", ErrBadConfig, c.MinFPSRatio, c.TargetFPS)
	}
	if c.MaxCPU == 0 {
		c.MaxCPU = 0.85
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.NodeTTL <= 0 {
		c.NodeTTL = 5 * c.Heartbeat
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 10 * c.Heartbeat
	}
	if c.NodeTTL <= c.Heartbeat || c.ClaimTTL <= c.Heartbeat {
		return fmt.Errorf("%w: node TTL %s and claim TTL %s must exceed the heartbeat %s", ErrBadConfig, c.NodeTTL, c.ClaimTTL, c.Heartbeat)
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 5 * time.Minute
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	if c.Prefix == "" {
		c.Prefix = "mosaic:"
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// claim is a room this node owns or has just claimed.
type claim struct {
	at   time.Time // when it was claimed
	seen bool      // the room has been open here
}

// Cluster is this node's membership: its announcements, its room claims,
// the routing middleware and the drain state. Run is its one loop.
type Cluster struct {
	cfg Config
	rdb *redis.Client
	log *slog.Logger

	mu       sync.Mutex
	claims   map[string]*claim
	cpu      float64
	draining bool
	deadline time.Time

	kick    chan struct{}      // wakes the loop (drain, new claim)
	leaveCh chan chan struct{} // Leave's requests to the loop
	stopped chan struct{}      // closed when Run has returned
	drained chan struct{}      // closed when a drain is complete
	once    sync.Once
}

// New checks the configuration; Run starts the membership.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Cluster{cfg: cfg, rdb: cfg.Redis, log: cfg.Log.With("part", "cluster"), claims: map[string]*claim{},
		kick: make(chan struct{}, 1), leaveCh: make(chan chan struct{}), stopped: make(chan struct{}),
		drained: make(chan struct{})}, nil
}

// ID is this node's id.
func (c *Cluster) ID() string { return c.cfg.NodeID }

// Drained is closed once a drain has finished: no room of this node has a
// publisher any more, or the drain deadline passed.
func (c *Cluster) Drained() <-chan struct{} { return c.drained }

// Drain stops this node from taking new rooms; its rooms go on until they
// end or timeout (0: the configured default) passes. It returns the deadline.
func (c *Cluster) Drain(timeout time.Duration) time.Time {
	if timeout <= 0 {
		timeout = c.cfg.DrainTimeout
	}
	c.mu.Lock()
	if !c.draining {
		c.draining, c.deadline = true, time.Now().Add(timeout)
		c.log.Info("draining: no new rooms", "deadline", c.deadline)
	}
	d := c.deadline
	c.mu.Unlock()
	c.wake()
	return d
}

func (c *Cluster) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run announces the node and renews its claims until ctx ends, then
// releases every claim and withdraws the node.
func (c *Cluster) Run(ctx context.Context) error {
	defer close(c.stopped)
	cpu := newCPUSampler()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	c.log.Info("joined cluster", "url", c.cfg.PublicURL, "max_rooms", c.cfg.MaxRooms, "max_cpu", c.cfg.MaxCPU)
	for {
		c.tick(ctx, cpu)
		select {
		case <-ctx.Done():
			c.leave()
			return nil
		case done := <-c.leaveCh:
			c.mu.Lock()
			c.draining = true // no new room here any more
			c.mu.Unlock()
			c.leave()
			close(done)
			<-ctx.Done() // gone from the cluster; nothing more to announce
			return nil
		case <-t.C:
		case <-c.kick:
		}
	}
}

// Leave withdraws the node and releases its rooms now, before a shutdown
// that takes a while (recordings finalizing), so that clients reconnecting
// meanwhile are placed on other nodes. Run then only waits for its end.
func (c *Cluster) Leave(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.leaveCh <- done:
	case <-c.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tick is one heartbeat: measure, renew or release claims, announce, and
// finish a drain whose rooms have ended.
func (c *Cluster) tick(ctx context.Context, cpu *cpuSampler) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Heartbeat+2*time.Second)
	defer cancel()
	load, err := cpu.sample()
	if err != nil {
		c.log.Warn("cpu sample", "err", err)
	}
	local := c.cfg.Rooms()
	open := make(map[string]bool, len(local))
	busy := 0
	for _, r := range local {
		open[r.Name] = true
		if r.Participants > 0 {
			busy++
		}
	}
	c.mu.Lock()
	c.cpu = (c.cpu + load) / 2 // smoothed: one busy second alone does not close the node
	now := time.Now()
	for name := range open {
		if _, ok := c.claims[name]; !ok {
			c.claims[name] = &claim{at: now}
		}
	}
	names := make(map[string]bool, len(c.claims))
	for name, cl := range c.claims {
		if open[name] {
			cl.seen = true
		}
		names[name] = cl.seen
	}
	c.mu.Unlock()

	for name, seen := range names {
		switch {
		case open[name]:
			c.keep(ctx, name)
		case seen || now.Sub(c.claimedAt(name)) > c.cfg.ClaimTTL:
			// The room closed here (or never opened): let it go.
			if err := c.release(ctx, name); err != nil {
				c.log.Warn("release room", "room", name, "err", err)
				continue
			}
			c.forget(name)
		}
	}
	if err := c.announce(ctx, c.self()); err != nil {
		c.log.Warn("heartbeat", "err", err)
	}
	c.mu.Lock()
	finished := c.draining && (busy == 0 || time.Now().After(c.deadline))
	c.mu.Unlock()
	if finished {
		c.once.Do(func() {
			c.log.Info("drain finished", "rooms_with_publishers", busy)
			close(c.drained)
		})
	}
}

// keep renews an open room's claim, or claims it again if it lapsed.
func (c *Cluster) keep(ctx context.Context, name string) {
	ok, err := c.renew(ctx, name)
	if err != nil {
		c.log.Warn("renew room", "room", name, "err", err)
		return
	}
	if ok {
		return
	}
	owner, err := c.acquire(ctx, name, c.cfg.NodeID)
	if err != nil {
		c.log.Warn("reclaim room", "room", name, "err", err)
		return
	}
	if owner != c.cfg.NodeID {
		c.log.Warn("room is owned by another node", "room", name, "owner", owner)
	}
}

func (c *Cluster) claimedAt(name string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.claims[name]; ok {
		return cl.at
	}
	return time.Time{}
}

func (c *Cluster) forget(name string) {
	c.mu.Lock()
	delete(c.claims, name)
	c.mu.Unlock()
}

// self is this node's record as of now.
func (c *Cluster) self() NodeInfo {
	local := c.cfg.Rooms()
	info := NodeInfo{ID: c.cfg.NodeID, URL: c.cfg.PublicURL, MaxRooms: c.cfg.MaxRooms, MaxCPU: c.cfg.MaxCPU,
		Cores: runtime.NumCPU(), Seen: time.Now().UTC()}
	names := map[string]bool{}
	for _, r := range local {
		names[r.Name] = true
		info.Participants += r.Participants
		info.Viewers += r.Viewers
		if c.cfg.TargetFPS > 0 && r.FPS > 0 && r.FPS < c.cfg.MinFPSRatio*float64(c.cfg.TargetFPS) {
			info.Lagging++
		}
	}
	c.mu.Lock()
	for name := range c.claims {
		names[name] = true
	}
	info.CPU, info.Draining = c.cpu, c.draining
	c.mu.Unlock()
	info.Rooms = len(names)
	return info
}

// leave releases every claim and withdraws the node (clean shutdown), so
// clients that reconnect land elsewhere at once.
func (c *Cluster) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c.mu.Lock()
	names := make([]string, 0, len(c.claims))
	for name := range c.claims {
		names = append(names, name)
	}
	c.mu.Unlock()
	for _, name := range names {
		_ = c.release(ctx, name)
	}
	if err := c.withdraw(ctx); err != nil {
		c.log.Warn("leave cluster", "err", err)
	}
}
