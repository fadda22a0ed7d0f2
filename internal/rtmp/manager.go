// Package rtmp pushes a room's live composite to external RTMP/RTMPS ingests
// (streaming platforms): one GStreamer pipeline per output, reconnecting
// with backoff, managed over the JSON API.
package rtmp

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Rooms finds a live room's composite.
type Rooms interface {
	Source(room string) (Source, bool)
}

// Config of the output manager.
type Config struct {
	Rooms  Rooms
	Issuer *auth.Issuer // verifies the API's admin tokens
	// MaxPerRoom limits outputs per room (default 4).
	MaxPerRoom int
	// RootCAs are the roots rtmps outputs trust (nil: the system's); an
	// output may add its own CA or skip the check (OutputOptions).
	RootCAs *x509.CertPool
	Backoff Backoff
	Log     *slog.Logger
}

// Manager holds every room's RTMP outputs.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	outputs map[string]*output // by id
	closed  bool
}

// New returns a manager; Close stops its outputs.
func New(cfg Config) (*Manager, error) {
	if cfg.Rooms == nil {
		return nil, fmt.Errorf("rtmp: no rooms")
	}
	if cfg.MaxPerRoom <= 0 {
		cfg.MaxPerRoom = 4
	}
	cfg.Backoff.defaults()
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Manager{cfg: cfg, log: cfg.Log.With("part", "rtmp"), outputs: map[string]*output{}}, nil
}

// Add starts pushing room's composite to url.
func (m *Manager) Add(room, url string, opts OutputOptions) (Info, error) {
	if err := checkURL(url); err != nil {
		return Info{}, err
	}
	var tc *tls.Config
	var tlsMode string
	if strings.HasPrefix(url, "rtmps://") {
		var err error
		if tc, tlsMode, err = outputTLS(m.cfg.RootCAs, opts); err != nil {
			return Info{}, err
		}
	} else if opts != (OutputOptions{}) {
		return Info{}, fmt.Errorf("%w: ca_pem and insecure_skip_verify are for rtmps:// URLs", ErrBadTLS)
	}
	src, ok := m.cfg.Rooms.Source(room)
	if !ok {
		return Info{}, fmt.Errorf("room %q: %w", room, ErrNoSuchRoom)
	}
	if c := src.StreamInfo().VideoCodec; c != media.H264 {
		return Info{}, fmt.Errorf("%w: room %s encodes %s", ErrUnsupported, room, c)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, ErrClosed
	}
	n := 0
	for _, o := range m.outputs {
		if o.room == room && o.Info().State != StateStopped {
			n++
		}
	}
	if n >= m.cfg.MaxPerRoom {
		return Info{}, fmt.Errorf("%w: room %s has %d", ErrTooMany, room, n)
	}
	id := newID()
	o := newOutput(id, room, url, tc, tlsMode, src, m.cfg.Backoff, m.log)
	m.outputs[id] = o
	m.log.Info("rtmp output added", "room", room, "output", id, "url", maskURL(url))
	return o.Info(), nil
}

// Get returns one output of room.
func (m *Manager) Get(room, id string) (Info, error) {
	m.mu.Lock()
	o, ok := m.outputs[id]
	m.mu.Unlock()
	if !ok || o.room != room {
		return Info{}, fmt.Errorf("output %q of room %q: %w", id, room, ErrNoSuchOutput)
	}
	return o.Info(), nil
}

// List returns room's outputs, oldest first.
func (m *Manager) List(room string) []Info {
	m.mu.Lock()
	var out []Info
	for _, o := range m.outputs {
		if o.room == room {
			out = append(out, o.Info())
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	if out == nil {
		out = []Info{}
	}
	return out
}

// Remove stops an output (EOS to the server first) and forgets it.
func (m *Manager) Remove(room, id string) (Info, error) {
	m.mu.Lock()
	o, ok := m.outputs[id]
	if ok && o.room == room {
		delete(m.outputs, id)
	}
	m.mu.Unlock()
	if !ok || o.room != room {
		return Info{}, fmt.Errorf("output %q of room %q: %w", id, room, ErrNoSuchOutput)
	}
	o.close()
	return o.Info(), nil
}

// Close stops every output.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	outs := m.outputs
	m.outputs = map[string]*output{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, o := range outs {
		wg.Add(1)
		go func() { defer wg.Done(); o.close() }()
	}
	wg.Wait()
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "out_" + hex.EncodeToString(b)
}
