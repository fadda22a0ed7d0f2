package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/gstutil"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// maxLoadedClip bounds how much of a clip is held in memory as packets; a
// longer run plays it in a loop, with sequence numbers and timestamps
// carried on.
const maxLoadedClip = 60 * time.Second

// loopGrain: a loop is a whole number of these, so that both 20 ms audio
// frames and 30 fps video frames stay evenly spaced across the seam.
const loopGrain = 100 * time.Millisecond

// rtpPacket is one packet of a loaded clip, at its send time from the
// clip's start.
type rtpPacket struct {
	at    time.Duration
	track int // index into clipPackets.tracks
	data  []byte
}

// clipTrack is one of a clip's streams as the mixer sees it.
type clipTrack struct {
	kind    media.Kind
	mime    string
	clock   uint32
	pt      uint8
	packets int // in one loop
}

// clipPackets is a reference clip payloaded to RTP ahead of time: the mixing
// benchmark plays these from Go the way ingest hands a room the packets
// it receives, so the measured process does the room's work and not the
// clip's demuxing and payloading.
type clipPackets struct {
	tracks  []clipTrack
	packets []rtpPacket // in send order
	span    time.Duration
}

// loadClipPackets demuxes and payloads at most limit of clip (VP8 + Opus WebM).
func loadClipPackets(clip string, limit time.Duration) (*clipPackets, error) {
	limit = min(limit, maxLoadedClip).Truncate(loopGrain)
	if limit <= 0 {
		limit = loopGrain
	}
	gstutil.Init()
	pl, err := gst.NewPipeline("load")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMixPipeline, err)
	}
	defer func() { _ = gstSetState(pl.Element, gst.StateNull, 5*time.Second) }()
	demux, err := addClipDemux(pl, clip)
	if err != nil {
		return nil, err
	}
	c := &clipPackets{tracks: []clipTrack{
		{kind: media.Video, mime: "video/VP8", clock: 90000, pt: 96},
		{kind: media.Audio, mime: "audio/opus", clock: 48000, pt: 111},
	}}
	payloaders := map[string]struct {
		factory string
		props   map[string]string
	}{
		"video": {"rtpvp8pay", map[string]string{"pt": "96", "mtu": "1200", "picture-id-mode": "15-bit"}},
		"audio": {"rtpopuspay", map[string]string{"pt": "111"}},
	}
	pays := map[string]*gst.Element{}
	var (
		mu   sync.Mutex
		done = make(chan struct{}, 2)
	)
	for i, name := range []string{"video", "audio"} {
		pay, err := gstElement(payloaders[name].factory, name+"-pay", payloaders[name].props)
		if err != nil {
			return nil, err
		}
		out, err := gstElement("appsink", name+"-sink", map[string]string{"sync": "false", "async": "false"})
		if err != nil {
			return nil, err
		}
		if err := pl.AddMany(pay, out); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMixPipeline, err)
		}
		if err := gstLink(pay, out); err != nil {
			return nil, err
		}
		pays[name] = pay
		var once sync.Once
		end := func() { once.Do(func() { done <- struct{}{} }) }
		app.SinkFromElement(out).SetCallbacks(&app.SinkCallbacks{
			NewSampleFunc: func(s *app.Sink) gst.FlowReturn {
				buf, ret := pullBuffer(s)
				if buf == nil {
					return ret
				}
				at := time.Duration(buf.PresentationTimestamp())
				if at >= limit {
					end()
					return gst.FlowEOS
				}
				mu.Lock()
				c.packets = append(c.packets, rtpPacket{at: at, track: i, data: buf.Bytes()})
				c.tracks[i].packets++
				mu.Unlock()
				return gst.FlowOK
			},
			EOSFunc: func(*app.Sink) { end() },
		})
	}
	failed := make(chan error, 1)
	if _, err := demux.Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		kind, _, _ := strings.Cut(pad.GetName(), "_")
		pay, ok := pays[kind]
		if !ok || pay.GetStaticPad("sink").IsLinked() {
			return
		}
		if ret := pad.Link(pay.GetStaticPad("sink")); ret != gst.PadLinkOK {
			select {
			case failed <- fmt.Errorf("%w: link %s: %s", ErrMixPipeline, pad.GetName(), ret):
			default:
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("%w: pad-added: %w", ErrMixPipeline, err)
	}
	if err := gstSetState(pl.Element, gst.StatePlaying, 10*time.Second); err != nil {
		return nil, err
	}
	timeout := time.After(time.Minute)
	for range 2 {
		select {
		case <-done:
		case err := <-failed:
			return nil, err
		case <-timeout:
			return nil, fmt.Errorf("%w: %s: loading took over a minute", ErrMixPipeline, clip)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if c.tracks[0].packets == 0 || c.tracks[1].packets == 0 {
		return nil, fmt.Errorf("%w: %s has no VP8 and Opus packets", ErrNoMedia, clip)
	}
	sort.SliceStable(c.packets, func(i, j int) bool { return c.packets[i].at < c.packets[j].at })
	// A loop ends on the grain after the last packet, at most limit.
	c.span = min(limit, (c.packets[len(c.packets)-1].at + loopGrain).Truncate(loopGrain))
	return c, nil
}

// packetFeed plays one participant's loaded clip into a mixer, with a
// sender report per track every second. It loops the clip with sequence
// numbers and timestamps carried on.
type packetFeed struct {
	clip    *clipPackets
	ssrc    uint32
	sinks   []media.TrackSink
	loop    int // current pass over the clip
	next    int // index of the next packet in clip.packets
	tracks  []feedState
	scratch []byte
}

type feedState struct {
	packets, octets uint32
	lastSR          time.Duration
}

func newPacketFeed(m *mixer.Mixer, clip *clipPackets, participant string, ssrc uint32) (*packetFeed, error) {
	f := &packetFeed{clip: clip, ssrc: ssrc, tracks: make([]feedState, len(clip.tracks)), scratch: make([]byte, 0, 1500)}
	for i, tr := range clip.tracks {
		f.tracks[i].lastSR = -time.Hour
		info := media.TrackInfo{Participant: participant, Name: participant, TrackID: string(tr.kind), Kind: tr.kind,
			MimeType: tr.mime, ClockRate: tr.clock, PayloadType: tr.pt, SSRC: ssrc + uint32(i)}
		if tr.kind == media.Audio {
			info.Channels = 2
		}
		sink, err := m.AddTrack(info, nil)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("add %s track: %w", info.TrackID, err), f.close())
		}
		f.sinks = append(f.sinks, sink)
	}
	return f, nil
}

// due is the send time of the next packet from the feed's start.
func (f *packetFeed) due() time.Duration {
	return time.Duration(f.loop)*f.clip.span + f.clip.packets[f.next].at
}

// send writes the next packet (and a sender report when one is due).
func (f *packetFeed) send(start time.Time) error {
	pk, loop, at := f.clip.packets[f.next], f.loop, f.due()
	if f.next++; f.next == len(f.clip.packets) {
		f.next, f.loop = 0, f.loop+1
	}
	tr := f.clip.tracks[pk.track]
	f.scratch = append(f.scratch[:0], pk.data...)
	if len(f.scratch) < 12 {
		return nil
	}
	pkt := f.scratch
	seq := binary.BigEndian.Uint16(pkt[2:]) + uint16(loop*tr.packets)
	ts := binary.BigEndian.Uint32(pkt[4:]) + uint32(int64(loop)*int64(f.clip.span)*int64(tr.clock)/int64(time.Second))
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], f.ssrc+uint32(pk.track))
	sink := f.sinks[pk.track]
	if err := sink.WriteRTP(pkt); err != nil {
		return fmt.Errorf("feed %s: %w", tr.kind, err)
	}
	st := &f.tracks[pk.track]
	st.packets++
	st.octets += uint32(len(pkt) - 12)
	if at-st.lastSR >= time.Second {
		st.lastSR = at
		sink.WriteSenderReport(media.SenderReport{SSRC: f.ssrc + uint32(pk.track), NTPTime: ntpTime(start.Add(at)),
			RTPTime: ts, PacketCount: st.packets, OctetCount: st.octets, Arrival: time.Now()})
	}
	return nil
}

// playFeeds sends every feed's packets at their times from start until
// limit or until ctx ends. One goroutine plays them all, sending whatever
// is due at each wake-up, so the harness adds few wake-ups to the
// measured process.
func playFeeds(ctx context.Context, feeds []*packetFeed, start time.Time, limit time.Duration) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var first *packetFeed
		for _, f := range feeds {
			if f.due() < limit && (first == nil || f.due() < first.due()) {
				first = f
			}
		}
		if first == nil {
			return nil
		}
		if wait := time.Until(start.Add(first.due())); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		now := time.Since(start)
		for _, f := range feeds {
			for f.due() < limit && f.due() <= now {
				if err := f.send(start); err != nil {
					return err
				}
			}
		}
	}
}

// close removes the participant's tracks from the room.
func (f *packetFeed) close() error {
	var errs []error
	for _, s := range f.sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
