package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// State of an output.
type State string

const (
	StateConnecting State = "connecting" // building the pipeline, connecting to the server
	StateLive       State = "live"       // the server is receiving the composite
	StateRetrying   State = "retrying"   // the last attempt failed; waiting to try again
	StateStopped    State = "stopped"    // deleted, or the room ended
)

// Info is an output's state for the API.
type Info struct {
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	URL       string    `json:"url"`           // stream key masked
	TLS       string    `json:"tls,omitempty"` // rtmps: system-roots, custom-ca or no-verify
	State     State     `json:"state"`
	LastError string    `json:"last_error,omitempty"`
	Attempts  int       `json:"attempts"`
	Created   time.Time `json:"created_at"`
	LiveSince time.Time `json:"live_since,omitzero"`
}

// Backoff bounds the wait between connection attempts.
type Backoff struct {
	Min, Max time.Duration
	// Reset: after this long live, the next failure starts from Min again.
	Reset time.Duration
}

func (b *Backoff) defaults() {
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max < b.Min {
		b.Max = 30 * time.Second
	}
	if b.Reset <= 0 {
		b.Reset = 10 * time.Second
	}
}

// output pushes one room's composite to one RTMP URL; its goroutine
// (re)connects until stop or the room's output ends.
type output struct {
	id, room, url string
	tls           *tls.Config // rtmps only
	src           Source
	backoff       Backoff
	log           *slog.Logger
	stop          chan struct{}
	done          chan struct{}
	once          sync.Once

	mu   sync.Mutex
	info Info
}

func newOutput(id, room, url string, tc *tls.Config, tlsMode string, src Source, b Backoff, log *slog.Logger) *output {
	o := &output{id: id, room: room, url: url, tls: tc, src: src, backoff: b,
		log: log.With("room", room, "output", id), stop: make(chan struct{}), done: make(chan struct{}),
		info: Info{ID: id, Room: room, URL: maskURL(url), TLS: tlsMode, State: StateConnecting, Created: time.Now()}}
	go o.run()
	return o
}

func (o *output) Info() Info {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.info
}

func (o *output) set(f func(*Info)) {
	o.mu.Lock()
	f(&o.info)
	o.mu.Unlock()
}

// close stops the output (EOS to the server first) and waits.
func (o *output) close() {
	o.once.Do(func() { close(o.stop) })
	<-o.done
}

var errRoomEnded = errors.New("room output ended")

func (o *output) run() {
	defer close(o.done)
	wait := o.backoff.Min
	for attempt := 1; ; attempt++ {
		o.set(func(i *Info) { i.State, i.Attempts, i.LiveSince = StateConnecting, attempt, time.Time{} })
		began := time.Now()
		err := o.attempt()
		if err == nil || errors.Is(err, errRoomEnded) {
			o.set(func(i *Info) {
				i.State, i.LiveSince = StateStopped, time.Time{}
				if err != nil {
					i.LastError = err.Error()
				}
			})
			o.log.Info("rtmp output stopped", "reason", err)
			return
		}
		if time.Since(began) >= o.backoff.Reset {
			wait = o.backoff.Min
		}
		o.set(func(i *Info) { i.State, i.LastError, i.LiveSince = StateRetrying, err.Error(), time.Time{} })
		o.log.Warn("rtmp output failed; retrying", "err", err, "attempt", attempt, "wait", wait)
		select {
		case <-o.stop:
			o.set(func(i *Info) { i.State = StateStopped })
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, o.backoff.Max)
	}
}

// attempt runs one connection: nil after a requested stop, errRoomEnded
// when the room's output closes, any other error to retry.
func (o *output) attempt() (err error) {
	location := o.url
	if o.tls != nil {
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			select {
			case <-o.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		br, err := dialBridge(ctx, o.url, o.tls)
		cancel()
		<-stopped
		if err != nil {
			return err
		}
		defer br.close() // after the pipeline is down
		defer func() {
			if berr := br.err(); err != nil && berr != nil && !errors.Is(err, errRoomEnded) {
				err = fmt.Errorf("%w (%w)", err, berr)
			}
		}()
		location = br.local
	}
	pl, err := buildPipeline("rtmp-"+o.id, location, o.src.StreamInfo())
	if err != nil {
		return err
	}
	defer func() {
		if nerr := setState(pl.p, gst.StateNull); nerr != nil && err == nil {
			err = nerr
		}
	}()
	if err := setState(pl.p, gst.StatePlaying); err != nil {
		return err
	}
	// Subscribing asks the encoder for a keyframe, so the server gets a
	// decodable start on every (re)connection.
	rd := o.src.Output().Subscribe("rtmp-"+o.id, 512)
	defer rd.Close()
	bus := pl.p.GetPipelineBus()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			return o.finish(pl, bus)
		case s, ok := <-rd.C:
			if !ok {
				_ = o.finish(pl, bus)
				return errRoomEnded
			}
			if err := pl.push(s); err != nil {
				if berr := pollBus(bus); berr != nil {
					return berr
				}
				return err
			}
		case <-tick.C:
			if err := pollBus(bus); err != nil {
				return err
			}
			if o.Info().State == StateConnecting && pl.bytesSent() > 0 {
				o.set(func(i *Info) { i.State, i.LiveSince = StateLive, time.Now() })
				o.log.Info("rtmp output live")
			}
		}
	}
}

// finish sends EOS and waits (bounded) for it to reach the sink, so the
// server sees a clean end of stream.
func (o *output) finish(pl *pipeline, bus *gst.Bus) error {
	pl.endStream()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			return nil
		case gst.MessageError:
			return nil // stopping anyway
		}
	}
	o.log.Warn("rtmp output: no EOS within 3s; stopping anyway")
	return nil
}

// pollBus drains pending bus messages; an ERROR or an early EOS is an error.
func pollBus(bus *gst.Bus) error {
	for {
		msg := bus.Pop()
		if msg == nil {
			return nil
		}
		switch msg.Type() {
		case gst.MessageError:
			return busError(msg)
		case gst.MessageEOS:
			return fmt.Errorf("%w: unexpected end of stream", ErrPipeline)
		}
	}
}

// Source is a room's encoded composite.
type Source interface {
	Output() *media.Stream
	StreamInfo() media.StreamInfo
}
