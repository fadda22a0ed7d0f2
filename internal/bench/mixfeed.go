package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// clipFeed plays one reference clip (VP8 + Opus WebM) in real time as RTP
// into a mixer, with a sender report per track every second, the way a
// WebRTC publisher's tracks reach the room.
type clipFeed struct {
	pipeline *gst.Pipeline
	sinks    []media.TrackSink
	failed   chan error
	eos      chan struct{}
	eosOnce  sync.Once
	wall     time.Time
}

// feedTrack is one of a clip's streams: payloader settings and the mixer track it feeds.
type feedTrack struct {
	kind    media.Kind
	factory string
	props   map[string]string
	info    media.TrackInfo
	pay     *gst.Element
	clock   uint32
	packets uint32
	octets  uint32
	lastSR  time.Duration
}

func startClipFeed(m *mixer.Mixer, clip, participant string, ssrc uint32, limit time.Duration) (*clipFeed, error) {
	pl, err := gst.NewPipeline("feed-" + participant)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMixPipeline, err)
	}
	f := &clipFeed{pipeline: pl, failed: make(chan error, 1), eos: make(chan struct{}), wall: time.Now()}
	demux, err := addClipDemux(pl, clip)
	if err != nil {
		return nil, err
	}
	tracks := map[string]*feedTrack{
		"video": {kind: media.Video, factory: "rtpvp8pay", clock: 90000,
			props: map[string]string{"pt": "96", "ssrc": fmt.Sprint(ssrc), "mtu": "1200", "picture-id-mode": "15-bit"},
			info: media.TrackInfo{Participant: participant, Name: participant, TrackID: "video", Kind: media.Video,
				MimeType: "video/VP8", ClockRate: 90000, PayloadType: 96, SSRC: ssrc}},
		"audio": {kind: media.Audio, factory: "rtpopuspay", clock: 48000,
			props: map[string]string{"pt": "111", "ssrc": fmt.Sprint(ssrc + 1)},
			info: media.TrackInfo{Participant: participant, Name: participant, TrackID: "audio", Kind: media.Audio,
				MimeType: "audio/opus", ClockRate: 48000, Channels: 2, PayloadType: 111, SSRC: ssrc + 1}},
	}
	for name, tr := range tracks {
		if err := f.addTrack(m, name, tr, limit); err != nil {
			return nil, errors.Join(err, f.close())
		}
	}
	if _, err := demux.Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		kind, _, _ := strings.Cut(pad.GetName(), "_")
		tr, ok := tracks[kind]
		if !ok {
			return
		}
		sink := tr.pay.GetStaticPad("sink")
		if sink.IsLinked() {
			return
		}
		if ret := pad.Link(sink); ret != gst.PadLinkOK {
			f.fail(fmt.Errorf("%w: link %s: %s", ErrMixPipeline, pad.GetName(), ret))
		}
	}); err != nil {
		return nil, errors.Join(fmt.Errorf("%w: pad-added: %w", ErrMixPipeline, err), f.close())
	}
	if err := gstSetState(pl.Element, gst.StatePlaying, 10*time.Second); err != nil {
		return nil, errors.Join(err, f.close())
	}
	return f, nil
}

// addTrack builds payloader → appsink for one stream and adds its mixer
// track. The demuxer's one thread paces both streams through the clocked
// appsinks (no queues: fewer threads and wakeups in the measured process);
// async=false so that neither sink waits for a preroll the other blocks.
func (f *clipFeed) addTrack(m *mixer.Mixer, name string, tr *feedTrack, limit time.Duration) error {
	pay, err := gstElement(tr.factory, name+"-pay", tr.props)
	if err != nil {
		return err
	}
	out, err := gstElement("appsink", name+"-sink", map[string]string{"sync": "true", "async": "false", "max-buffers": "256"})
	if err != nil {
		return err
	}
	if err := f.pipeline.AddMany(pay, out); err != nil {
		return fmt.Errorf("%w: %w", ErrMixPipeline, err)
	}
	if err := gstLink(pay, out); err != nil {
		return err
	}
	tr.pay, tr.lastSR = pay, -time.Hour
	sink, err := m.AddTrack(tr.info, nil)
	if err != nil {
		return fmt.Errorf("add %s track: %w", name, err)
	}
	f.sinks = append(f.sinks, sink)
	app.SinkFromElement(out).SetCallbacks(&app.SinkCallbacks{
		NewSampleFunc: func(s *app.Sink) gst.FlowReturn { return f.onPacket(s, sink, tr, limit) },
		EOSFunc:       func(*app.Sink) { f.eosOnce.Do(func() { close(f.eos) }) },
	})
	return nil
}

func (f *clipFeed) onPacket(s *app.Sink, sink media.TrackSink, tr *feedTrack, limit time.Duration) gst.FlowReturn {
	buf, ret := pullBuffer(s)
	if buf == nil {
		return ret
	}
	pkt := buf.Bytes()
	pts := time.Duration(buf.PresentationTimestamp())
	if limit > 0 && pts > limit {
		f.eosOnce.Do(func() { close(f.eos) })
		return gst.FlowEOS
	}
	if err := sink.WriteRTP(pkt); err != nil || len(pkt) < 12 {
		return gst.FlowEOS
	}
	tr.packets++
	tr.octets += uint32(len(pkt) - 12)
	if pts-tr.lastSR >= time.Second {
		tr.lastSR = pts
		sink.WriteSenderReport(media.SenderReport{SSRC: tr.info.SSRC, NTPTime: ntpTime(f.wall.Add(pts)),
			RTPTime: binary.BigEndian.Uint32(pkt[4:8]), PacketCount: tr.packets, OctetCount: tr.octets, Arrival: time.Now()})
	}
	return gst.FlowOK
}

func (f *clipFeed) fail(err error) {
	select {
	case f.failed <- err:
	default:
	}
}

// wait blocks until one stream of the clip ended, the feed failed or ctx ends.
func (f *clipFeed) wait(ctx context.Context) error {
	select {
	case <-f.eos:
		return nil
	case err := <-f.failed:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the clip and removes its tracks from the room.
func (f *clipFeed) close() error {
	errs := []error{gstSetState(f.pipeline.Element, gst.StateNull, 5*time.Second)}
	for _, s := range f.sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// ntpTime converts a wall time to a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
