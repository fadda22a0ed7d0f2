package mixer

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// feedOptions shape how a clip is sent to the mixer.
type feedOptions struct {
	Participant string
	NoAudio     bool
	NoVideo     bool          // audio only: the clip's video is not sent
	AudioDelay  time.Duration // extra network delay of the audio track
	Duration    time.Duration // stop after this much media (0: whole clip)
	Pattern     string        // instead of the clip: this videotestsrc pattern, VP8, no audio
	PatternSize [2]int        // of the pattern (default 640x360)
	Jitter      time.Duration // each packet arrives after a random delay in 0..Jitter (reordering them)
	Name        string        // display name (default: the participant)
	Screen      bool          // the video is a screen share
	Codec       string        // video as sent: "" (the clip's VP8), "H264" or "VP9" (transcoded to 640x360)
}

// feed plays a WebM clip in real time as VP8 and Opus RTP into a mixer,
// with a sender report per track every second, like a WebRTC publisher.
type feed struct {
	t        testing.TB
	pipeline *gst.Pipeline
	sinks    []media.TrackSink
	done     chan struct{}
	quit     chan struct{}
	stopOnce sync.Once
	wall     time.Time // when the feed started playing (its media time 0)
	jitter   time.Duration
	pending  sync.WaitGroup // jittered packets not yet delivered
}

var ssrcSeq uint32 = 1000

func startFeed(t testing.TB, m *Mixer, clip string, o feedOptions) *feed {
	t.Helper()
	if o.Participant == "" {
		o.Participant = fmt.Sprintf("p%d", ssrcSeq)
	}
	ssrcSeq += 2
	vssrc, assrc := ssrcSeq, ssrcSeq+1
	mime, pt, videoDesc := "video/VP8", uint8(96), fmt.Sprintf("rtpvp8pay pt=96 ssrc=%d mtu=1200 picture-id-mode=15-bit", vssrc)
	const small = "vp8dec ! videoconvert ! videoscale ! video/x-raw,width=640,height=360 ! "
	switch o.Codec {
	case "H264":
		mime, pt = "video/H264", 102
		videoDesc = small + "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bframes=0 ! video/x-h264,profile=constrained-baseline ! " +
			fmt.Sprintf("rtph264pay pt=102 ssrc=%d mtu=1200 config-interval=-1 aggregate-mode=zero-latency", vssrc)
	case "VP9":
		mime, pt = "video/VP9", 98
		videoDesc = small + "vp9enc deadline=1 cpu-used=8 lag-in-frames=0 keyframe-max-dist=30 ! " +
			fmt.Sprintf("rtpvp9pay pt=98 ssrc=%d mtu=1200 picture-id-mode=15-bit", vssrc)
	}
	desc := fmt.Sprintf("filesrc location=%s ! matroskademux name=d "+
		"d.video_0 ! queue ! %s ! appsink name=v sync=true ", clip, videoDesc)
	if o.NoVideo {
		desc = fmt.Sprintf("filesrc location=%s ! matroskademux name=d d.video_0 ! queue ! appsink name=v sync=true ", clip)
	}
	if o.Pattern != "" {
		// A synthetic participant: live test pattern, video only.
		o.NoAudio = true
		size := o.PatternSize
		if size[0] == 0 {
			size = [2]int{640, 360}
		}
		desc = fmt.Sprintf("videotestsrc is-live=true pattern=%s ! capsfilter name=res caps=video/x-raw,width=%d,height=%d,framerate=30/1 ! "+
			"vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! %s ! appsink name=v sync=true", o.Pattern, size[0], size[1], videoDesc)
	}
	if !o.NoAudio {
		desc += fmt.Sprintf("d.audio_0 ! queue ! rtpopuspay pt=111 ssrc=%d ! appsink name=a sync=true ts-offset=%d", assrc, o.AudioDelay.Nanoseconds())
	}
	pl, err := gst.NewPipelineFromString(desc)
	if err != nil {
		t.Fatalf("feed pipeline: %v", err)
	}
	f := &feed{t: t, pipeline: pl, done: make(chan struct{}), quit: make(chan struct{}), wall: time.Now(), jitter: o.Jitter}
	if !o.NoVideo {
		video, err := m.AddTrack(media.TrackInfo{Room: m.cfg.Room, Participant: o.Participant, Name: o.Name,
			TrackID: "video", Kind: media.Video, MimeType: mime, ClockRate: 90000, PayloadType: pt, SSRC: vssrc, Screen: o.Screen}, nil)
		if err != nil {
			t.Fatalf("AddTrack video: %v", err)
		}
		f.sinks = append(f.sinks, video)
		f.attach("v", video, vssrc, 90000, o.Duration)
	} else {
		f.discard("v", o.Duration)
	}
	if !o.NoAudio {
		name := o.Name
		if name == "" {
			name = o.Participant
		}
		audio, err := m.AddTrack(media.TrackInfo{Room: m.cfg.Room, Participant: o.Participant, Name: name,
			TrackID: "audio", Kind: media.Audio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2, PayloadType: 111, SSRC: assrc}, nil)
		if err != nil {
			t.Fatalf("AddTrack audio: %v", err)
		}
		f.sinks = append(f.sinks, audio)
		f.attach("a", audio, assrc, 48000, o.Duration)
	}
	go f.watch()
	f.wall = time.Now()
	if err := pl.SetState(gst.StatePlaying); err != nil {
		t.Fatalf("feed play: %v", err)
	}
	t.Cleanup(f.stop)
	return f
}

// attach forwards one appsink's RTP packets to a track sink.
func (f *feed) attach(name string, sink media.TrackSink, ssrc, clock uint32, limit time.Duration) {
	el, err := f.pipeline.GetElementByName(name)
	if err != nil {
		f.t.Fatalf("feed %s: %v", name, err)
	}
	var lastSR time.Duration = -time.Hour
	var packets, octets uint32
	app.SinkFromElement(el).SetCallbacks(&app.SinkCallbacks{NewSampleFunc: func(s *app.Sink) gst.FlowReturn {
		smp := s.PullSample()
		if smp == nil {
			return gst.FlowEOS
		}
		buf := smp.GetBuffer()
		pkt := buf.Bytes()
		pts, _ := clockDuration(buf.PresentationTimestamp())
		if seg := smp.GetSegment(); seg != nil {
			pts -= time.Duration(seg.GetStart()) // x264enc's segment starts at 1000 h
		}
		if limit > 0 && pts > limit {
			return gst.FlowEOS
		}
		if err := f.send(sink, pkt); err != nil {
			return gst.FlowEOS
		}
		packets++
		octets += uint32(len(pkt) - 12)
		if pts-lastSR >= time.Second {
			lastSR = pts
			sink.WriteSenderReport(media.SenderReport{SSRC: ssrc, NTPTime: toNTP(f.wall.Add(pts)),
				RTPTime: binary.BigEndian.Uint32(pkt[4:8]), PacketCount: packets, OctetCount: octets, Arrival: time.Now()})
		}
		return gst.FlowOK
	}})
}

// send hands a packet to the mixer, after a random delay with jitter.
func (f *feed) send(sink media.TrackSink, pkt []byte) error {
	if f.jitter <= 0 {
		return sink.WriteRTP(pkt)
	}
	f.pending.Add(1)
	time.AfterFunc(rand.N(f.jitter), func() {
		defer f.pending.Done()
		_ = sink.WriteRTP(pkt) // ErrClosed once the track left: dropped like on a network
	})
	return nil
}

// discard drops an appsink's buffers, ending at limit like attach.
func (f *feed) discard(name string, limit time.Duration) {
	el, err := f.pipeline.GetElementByName(name)
	if err != nil {
		f.t.Fatalf("feed %s: %v", name, err)
	}
	app.SinkFromElement(el).SetCallbacks(&app.SinkCallbacks{NewSampleFunc: func(s *app.Sink) gst.FlowReturn {
		smp := s.PullSample()
		if smp == nil {
			return gst.FlowEOS
		}
		if pts, ok := clockDuration(smp.GetBuffer().PresentationTimestamp()); ok && limit > 0 && pts > limit {
			return gst.FlowEOS
		}
		return gst.FlowOK
	}})
}

// toNTP converts a wall time to a 64-bit NTP timestamp.
func toNTP(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

func (f *feed) watch() {
	defer close(f.done)
	bus := f.pipeline.GetPipelineBus()
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		msg := bus.TimedPop(gst.ClockTime((100 * time.Millisecond).Nanoseconds()))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			return
		case gst.MessageError:
			f.t.Errorf("feed: %v", msg.ParseError())
			return
		}
	}
}

// wait blocks until the clip has been sent (or timeout), then closes the tracks.
func (f *feed) wait(timeout time.Duration) {
	f.t.Helper()
	select {
	case <-f.done:
	case <-time.After(timeout):
		f.t.Errorf("feed did not finish in %s", timeout)
	}
	f.stop()
}

// stop ends the feed and closes its tracks (they leave the room).
func (f *feed) stop() {
	f.stopOnce.Do(func() {
		close(f.quit)
		<-f.done
		f.pipeline.SetState(gst.StateNull)
		f.pending.Wait()
		for _, s := range f.sinks {
			if err := s.Close(); err != nil {
				f.t.Errorf("close track: %v", err)
			}
		}
	})
}
