package hls

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// Viewer is one viewer's place in a room's audience; Leave ends it.
type Viewer interface{ Leave() }

// WatchFunc adds a viewer to a room's audience (the room's viewer count).
type WatchFunc func(room, viewerID string) (Viewer, error)

// audience counts as a room's viewers the distinct clients (token, address
// and user agent) that fetched one of its HLS files within the window; a
// client silent for longer leaves.
type audience struct {
	watch  WatchFunc
	window time.Duration

	mu   sync.Mutex
	seen map[viewerKey]*hlsViewer

	stop chan struct{}
	once sync.Once
	done chan struct{}
}

type viewerKey struct{ room, client string }

type hlsViewer struct {
	v    Viewer // nil without a WatchFunc, or when the room refused
	m    *Muxer // the room's muxer when the client came
	last time.Time
}

func newAudience(watch WatchFunc, window time.Duration) *audience {
	a := &audience{watch: watch, window: window, seen: map[viewerKey]*hlsViewer{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// clientID names the client of an HLS request; the token is hashed so that
// the audience keeps none.
func clientID(r *http.Request) string {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = auth.BearerToken(r.Header.Get("Authorization"))
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	sum := sha256.Sum256([]byte(tok + "\x00" + host + "\x00" + r.UserAgent()))
	return hex.EncodeToString(sum[:8])
}

// touch notes that client fetched a file of room, served by m, at now. A
// client still counted in a room that has since closed and opened again
// joins the new room.
func (a *audience) touch(room, client string, m *Muxer, now time.Time) {
	k := viewerKey{room, client}
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := a.seen[k]; ok {
		if v.m == m {
			v.last = now
			return
		}
		if v.v != nil {
			v.v.Leave()
		}
	}
	v := &hlsViewer{m: m, last: now}
	if a.watch != nil {
		if w, err := a.watch(room, "hls-"+client); err == nil {
			v.v = w
		}
	}
	a.seen[k] = v
}

// count is the number of room's HLS viewers.
func (a *audience) count(room string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k := range a.seen {
		if k.room == room {
			n++
		}
	}
	return n
}

// sweep lets the clients silent since before now − window leave.
func (a *audience) sweep(now time.Time) {
	var gone []Viewer
	a.mu.Lock()
	for k, v := range a.seen {
		if now.Sub(v.last) > a.window {
			delete(a.seen, k)
			if v.v != nil {
				gone = append(gone, v.v)
			}
		}
	}
	a.mu.Unlock()
	for _, v := range gone {
		v.Leave()
	}
}

func (a *audience) run() {
	defer close(a.done)
	t := time.NewTicker(min(a.window/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case now := <-t.C:
			a.sweep(now)
		}
	}
}

// close stops the sweeper and lets every viewer leave.
func (a *audience) close() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
	a.sweep(time.Now().Add(a.window + time.Hour))
}
