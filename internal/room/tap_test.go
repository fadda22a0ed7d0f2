package room_test

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// countingTap is a TrackTap that counts what each of its sinks receives.
type countingTap struct {
	mu    sync.Mutex
	sinks map[string]*countingSink
}

type countingSink struct {
	packets, reports atomic.Int32
	closed           atomic.Bool
}

func (c *countingSink) WriteRTP([]byte) error                { c.packets.Add(1); return nil }
func (c *countingSink) WriteSenderReport(media.SenderReport) { c.reports.Add(1) }
func (c *countingSink) Close() error                         { c.closed.Store(true); return nil }

func (c *countingTap) AddTrack(info media.TrackInfo) (media.TrackSink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &countingSink{}
	c.sinks[info.Participant+"/"+info.TrackID] = s
	return s, nil
}

func (c *countingTap) sink(key string) *countingSink {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sinks[key]
}

func rtp(seq uint16) []byte {
	p := make([]byte, 12+20)
	p[0], p[1] = 0x80, 111
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], uint32(seq)*960)
	binary.BigEndian.PutUint32(p[8:], 0x1234)
	return p
}

// TestTapSeesPresentAndLaterTracks: a tap gets the tracks published before
// it was attached and those added after, every packet and sender report
// also reaching the mixer; a track that ends closes its tap sink, Untap
// closes the rest and nothing more reaches them.
func TestTapSeesPresentAndLaterTracks(t *testing.T) {
	reg := room.New(room.Config{Mixer: mixer.Config{Width: 320, Height: 180, FPS: 15, VideoBitrateKbps: 300}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reg.Close(ctx)
	}()
	ctx := context.Background()
	ir, err := reg.Join(ctx, "taps", ingest.Participant{ID: "p1", Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	r := ir.(*room.Room)
	audio := func(p string) media.TrackInfo {
		return media.TrackInfo{Room: "taps", Participant: p, TrackID: "audio", Kind: media.Audio,
			MimeType: "audio/opus", ClockRate: 48000, Channels: 2, PayloadType: 111}
	}
	first, err := r.AddTrack(audio("p1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tap := &countingTap{sinks: map[string]*countingSink{}}
	if err := r.Tap("rec1", tap); err != nil {
		t.Fatal(err)
	}
	if err := r.Tap("rec1", tap); err == nil {
		t.Fatal("a second Tap with the same key succeeded")
	}
	if _, err := reg.Join(ctx, "taps", ingest.Participant{ID: "p2", Name: "two"}); err != nil {
		t.Fatal(err)
	}
	later, err := r.AddTrack(audio("p2"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := first.WriteRTP(rtp(uint16(i))); err != nil {
			t.Fatalf("write to the mixer through the tee: %v", err)
		}
		_ = later.WriteRTP(rtp(uint16(i)))
	}
	first.WriteSenderReport(media.SenderReport{SSRC: 0x1234, RTPTime: 960})
	a, b := tap.sink("p1/audio"), tap.sink("p2/audio")
	if a == nil || b == nil {
		t.Fatalf("tap sinks: present track %v, later track %v", a != nil, b != nil)
	}
	if a.packets.Load() != 10 || b.packets.Load() != 10 || a.reports.Load() != 1 {
		t.Fatalf("tap got %d and %d packets, %d reports; want 10, 10, 1", a.packets.Load(), b.packets.Load(), a.reports.Load())
	}

	// The later track ends: its tap sink is closed with it.
	if err := later.Close(); err != nil {
		t.Fatal(err)
	}
	if !b.closed.Load() || a.closed.Load() {
		t.Fatalf("after the track ended: its sink closed %v, the other's %v", b.closed.Load(), a.closed.Load())
	}
	// Untap: the remaining sink is closed and gets nothing more.
	r.Untap("rec1")
	if !a.closed.Load() {
		t.Fatal("Untap left a tap sink open")
	}
	_ = first.WriteRTP(rtp(11))
	if a.packets.Load() != 10 {
		t.Fatalf("tap sink got %d packets after Untap", a.packets.Load())
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTapRacesWithTracks: tracks added and ended while taps come and go
// never leave a tap sink open (run with -race).
func TestTapRacesWithTracks(t *testing.T) {
	reg := room.New(room.Config{Mixer: mixer.Config{Width: 320, Height: 180, FPS: 15, VideoBitrateKbps: 300}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reg.Close(ctx)
	}()
	ir, err := reg.Join(context.Background(), "race", ingest.Participant{ID: "p", Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	r := ir.(*room.Room)
	var all []*countingTap
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			sink, err := r.AddTrack(media.TrackInfo{Room: "race", Participant: "p", TrackID: "a" + string(rune('a'+i)),
				Kind: media.Audio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2, PayloadType: 111}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			_ = sink.WriteRTP(rtp(1))
			_ = sink.Close()
		}
	}()
	for i := 0; i < 20; i++ {
		tap := &countingTap{sinks: map[string]*countingSink{}}
		all = append(all, tap)
		key := "rec" + string(rune('a'+i))
		if err := r.Tap(key, tap); err != nil {
			t.Fatal(err)
		}
		r.Untap(key)
	}
	wg.Wait()
	for i, tap := range all {
		for k, s := range tap.sinks {
			if !s.closed.Load() {
				t.Errorf("tap %d: sink %s left open", i, k)
			}
		}
	}
}
