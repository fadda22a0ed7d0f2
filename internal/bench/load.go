package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/publisher"
)

// LoadConfig configures RunLoad: Rooms rooms on a running node (or cluster),
// each with Publishers WHIP publishers replaying Clip and Viewers WHEP
// viewers of its composite.
type LoadConfig struct {
	Server     string // a node's base URL, e.g. http://127.0.0.1:8080
	Token      string // admin token (publishes, views and reads the node API)
	Rooms      int    // default 1 (1..50)
	Publishers int    // per room, default 2 (1..16)
	Viewers    int    // per room, default 1 (0..50)
	// Duration is how long the viewers watch once the publishers are up
	// (default 20 s).
	Duration time.Duration
	// Warmup is the wait between starting the publishers and the viewers
	// (default 3 s plus 300 ms per publisher).
	Warmup time.Duration
	Clip   string // WebM every publisher replays in a loop
	FPS    int    // the composite's frame rate the node is configured for (default 30)
	Prefix string // room names are Prefix-1, Prefix-2, … (default "load")
	Log    *slog.Logger
}

func (c *LoadConfig) defaults() error {
	if c.Rooms == 0 {
		c.Rooms = 1
	}
	if c.Publishers == 0 {
		c.Publishers = 2
	}
	if c.Viewers < 0 {
		return fmt.Errorf("%w: %d viewers per room", ErrBadConfig, c.Viewers)
	}
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.Prefix == "" {
		c.Prefix = "load"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.Server == "" || c.Clip == "":
		return fmt.Errorf("%w: a server URL and a clip are required", ErrBadConfig)
	case c.Rooms < 0 || c.Rooms > 50:
		return fmt.Errorf("%w: %d rooms (1..50)", ErrBadConfig, c.Rooms)
	case c.Publishers < 0 || c.Publishers > 16:
		return fmt.Errorf("%w: %d publishers per room (1..16)", ErrBadConfig, c.Publishers)
	case c.Viewers > 50:
		return fmt.Errorf("%w: %d viewers per room (0..50)", ErrBadConfig, c.Viewers)
	case c.Rooms*(c.Publishers+c.Viewers) > 300:
		return fmt.Errorf("%w: %d peers in all (at most 300)", ErrBadConfig, c.Rooms*(c.Publishers+c.Viewers))
	case c.Duration < time.Second || c.Duration > 10*time.Minute:
		return fmt.Errorf("%w: duration %s (1s..10m)", ErrBadConfig, c.Duration)
	case c.FPS < 1 || c.FPS > 120:
		return fmt.Errorf("%w: fps %d", ErrBadConfig, c.FPS)
	}
	if c.Warmup == 0 {
		c.Warmup = 3*time.Second + time.Duration(c.Rooms*c.Publishers)*300*time.Millisecond
	}
	c.Server = strings.TrimRight(c.Server, "/")
	return nil
}

// RoomLoad is what one room did under load.
type RoomLoad struct {
	Room       string
	Node       string // host:port that served the room ("" if nobody did)
	Publishers int    // publishing to the end
	Refused    int    // publishers refused with 503 (admission control)
	Failed     int    // publishers that failed otherwise
	Viewers    int    // viewers that received video
	// FPS is the composite frame rate the viewers received (mean, lowest).
	FPS, MinFPS float64
	// Dropped is the mean number of composite frames a viewer missed
	// against FPS × the time it watched.
	Dropped int
	Errors  []string
}

// LoadResult is what RunLoad measured.
type LoadResult struct {
	Rooms []RoomLoad
	// Probe is the answer to one more new room asked for at full load:
	// "accepted (201)", or "refused 503, Retry-After 5: …".
	Probe string
	Nodes []NodeLoad // the cluster's nodes at full load, as they announce themselves
	// Breaks names what gave first: a room's frame rate under 90 %,
	// publishers refused, or peers failing ("" when nothing did).
	Breaks string
}

// NodeLoad is one node's announced load.
type NodeLoad struct {
	ID           string  `json:"id"`
	URL          string  `json:"url"`
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants"`
	Viewers      int     `json:"viewers"`
	CPU          float64 `json:"cpu"`
	Cores        int     `json:"cores"`
	Draining     bool    `json:"draining"`
}

// RunLoad starts every room's publishers, waits Warmup, lets every viewer
// watch for Duration, asks for one more room at full load, and stops.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if err := cfg.defaults(); err != nil {
		return LoadResult{}, err
	}
	pubCtx, stopPubs := context.WithCancel(ctx)
	defer stopPubs()
	rooms := make([]*roomRun, cfg.Rooms)
	var pubs sync.WaitGroup
	for i := range rooms {
		r := &roomRun{name: fmt.Sprintf("%s-%d", cfg.Prefix, i+1)}
		rooms[i] = r
		for p := 0; p < cfg.Publishers; p++ {
			pubs.Add(1)
			go func() {
				defer pubs.Done()
				_, err := publisher.Publish(pubCtx, publisher.Options{URL: cfg.Server + "/rooms/" + r.name + "/whip",
					Token: cfg.Token, File: cfg.Clip, Loop: true, Log: cfg.Log})
				r.publisherEnded(pubCtx, err)
			}()
			time.Sleep(100 * time.Millisecond) // a ramp, not a stampede
		}
	}
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
		return LoadResult{}, ctx.Err()
	}

	var res LoadResult
	var views sync.WaitGroup
	for _, r := range rooms {
		for v := 0; v < cfg.Viewers; v++ {
			views.Add(1)
			go func() {
				defer views.Done()
				st, err := publisher.WHEPView(ctx, cfg.Server+"/rooms/"+r.name+"/whep", cfg.Token, cfg.Duration)
				r.viewerEnded(st, err, cfg.Duration)
			}()
		}
	}
	time.Sleep(cfg.Duration / 2)
	res.Probe = probe(ctx, cfg)
	res.Nodes, _ = nodes(ctx, cfg)
	views.Wait()
	for _, r := range rooms {
		r.node = servedBy(ctx, cfg, r.name)
	}
	stopPubs()
	pubs.Wait()

	for _, r := range rooms {
		res.Rooms = append(res.Rooms, r.result(cfg))
	}
	res.Breaks = breaks(res, cfg)
	return res, nil
}

// roomRun collects one room's peers' outcomes.
type roomRun struct {
	name string
	node string

	mu                       sync.Mutex
	published, refused, fail int
	frames                   []int     // per viewer that received video
	watched                  []float64 // seconds each of them watched
	errs                     []string
}

func (r *roomRun) publisherEnded(ctx context.Context, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var he *publisher.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable:
		r.refused++
	case err != nil && ctx.Err() == nil:
		r.fail++
		r.errs = append(r.errs, "publisher: "+err.Error())
	default:
		r.published++ // ran until the load ended
	}
}

func (r *roomRun) viewerEnded(st publisher.ViewStats, err error, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, "viewer: "+err.Error())
	}
	if st.VideoFrames == 0 {
		return
	}
	watched := d - st.FirstFrame
	if watched <= 0 {
		watched = d
	}
	r.frames = append(r.frames, st.VideoFrames)
	r.watched = append(r.watched, watched.Seconds())
}

func (r *roomRun) result(cfg LoadConfig) RoomLoad {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := RoomLoad{Room: r.name, Node: r.node, Publishers: r.published, Refused: r.refused, Failed: r.fail,
		Viewers: len(r.frames), Errors: r.errs}
	if len(r.frames) == 0 {
		return out
	}
	sum, drop := 0.0, 0.0
	for i, n := range r.frames {
		fps := float64(n) / r.watched[i]
		sum += fps
		if i == 0 || fps < out.MinFPS {
			out.MinFPS = fps
		}
		drop += max(0, float64(cfg.FPS)*r.watched[i]-float64(n))
	}
	out.FPS = sum / float64(len(r.frames))
	out.Dropped = int(drop/float64(len(r.frames)) + 0.5)
	return out
}

// breaks names what gave first under this load.
func breaks(res LoadResult, cfg LoadConfig) string {
	var out []string
	refused, failed, slow := 0, 0, []string{}
	for _, r := range res.Rooms {
		refused += r.Refused
		failed += r.Failed
		if cfg.Viewers > 0 && (r.Viewers < cfg.Viewers || r.MinFPS < 0.9*float64(cfg.FPS)) {
			slow = append(slow, fmt.Sprintf("%s %.1f fps (%d/%d viewers)", r.Room, r.MinFPS, r.Viewers, cfg.Viewers))
		}
	}
	sort.Strings(slow)
	if refused > 0 {
		out = append(out, fmt.Sprintf("admission control refused %d publishers (503)", refused))
	}
	if len(slow) > 0 {
		out = append(out, "composite under 90% of "+fmt.Sprint(cfg.FPS)+" fps: "+strings.Join(slow, ", "))
	}
	if failed > 0 {
		out = append(out, fmt.Sprintf("%d publishers failed", failed))
	}
	return strings.Join(out, "; ")
}
