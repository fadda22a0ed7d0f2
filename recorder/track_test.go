package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
)

type rtpPacket struct {
	at   time.Duration // when to send, from the stream's start
	data []byte
}

// rtpPackets encodes seconds of a test stream and packetizes it.
func rtpPackets(t *testing.T, desc string) []rtpPacket {
	t.Helper()
	initGst()
	p, err := gst.NewPipelineFromString(desc + " ! appsink name=out sync=false")
	if err != nil {
		t.Fatal(err)
	}
	defer p.SetState(gst.StateNull)
	if err := p.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	el, err := p.GetElementByName("out")
	if err != nil {
		t.Fatal(err)
	}
	sink := app.SinkFromElement(el)
	var out []rtpPacket
	first := time.Duration(-1)
	for {
		s := sink.TryPullSample(gst.ClockTime(30 * time.Second))
		if s == nil {
			break
		}
		b := s.GetBuffer()
		pts := time.Duration(b.PresentationTimestamp())
		if first < 0 {
			first = pts
		}
		out = append(out, rtpPacket{at: pts - first, data: b.Bytes()})
	}
	if len(out) < 50 {
		t.Fatalf("%d packets from %q", len(out), desc)
	}
	return out
}

// feed sends packets at their pace, with a sender report every second.
func feed(t *testing.T, tr *Track, pkts []rtpPacket, clock uint32, halfway func()) {
	start := time.Now()
	nextSR := time.Second
	for i, p := range pkts {
		if d := time.Until(start.Add(p.at)); d > 0 {
			time.Sleep(d)
		}
		if err := tr.WriteRTP(p.data); err != nil {
			t.Errorf("packet %d: %v", i, err)
			return
		}
		if p.at >= nextSR {
			ts := binary.BigEndian.Uint32(p.data[4:8])
			tr.WriteSenderReport(media.SenderReport{NTPTime: uint64(3_900_000_000+int64(p.at/time.Second)) << 32,
				RTPTime: ts, Arrival: time.Now()})
			nextSR += time.Second
		}
		if halfway != nil && i == len(pkts)/2 {
			halfway()
		}
	}
}

func TestTrackRecording(t *testing.T) {
	const secs = 4
	video := rtpPackets(t, fmt.Sprintf("videotestsrc num-buffers=%d ! video/x-raw,width=320,height=240,framerate=30/1 ! "+
		"vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ssrc=1111", secs*30))
	audio := rtpPackets(t, fmt.Sprintf("audiotestsrc num-buffers=%d samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! "+
		"opusenc ! rtpopuspay pt=111 ssrc=2222", secs*50))
	dir := t.TempDir()
	cases := []struct {
		info media.TrackInfo
		pkts []rtpPacket
		path string
	}{
		{media.TrackInfo{Room: "r", Participant: "p", TrackID: "cam", Kind: media.Video, MimeType: "video/VP8",
			ClockRate: 90000, PayloadType: 96, SSRC: 1111}, video, filepath.Join(dir, "tracks", "p-cam.mkv")},
		{media.TrackInfo{Room: "r", Participant: "p", TrackID: "mic", Kind: media.Audio, MimeType: "audio/opus",
			ClockRate: 48000, Channels: 2, PayloadType: 111, SSRC: 2222}, audio, filepath.Join(dir, "tracks", "p-mic.mkv")},
	}
	var wg sync.WaitGroup
	crash := filepath.Join(dir, "crash-cam.mkv")
	for i, c := range cases {
		tr, err := NewTrack(TrackConfig{Path: c.path, Info: c.info})
		if err != nil {
			t.Fatal(err)
		}
		var halfway func()
		if i == 0 {
			// The file as a kill -9 would leave it in the middle of the track.
			halfway = func() { time.Sleep(300 * time.Millisecond); copyFile(t, c.path, crash) }
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			feed(t, tr, c.pkts, c.info.ClockRate, halfway)
			if err := tr.Close(); err != nil {
				t.Errorf("close %s: %v", c.path, err)
			}
			if err := tr.WriteRTP(c.pkts[0].data); !errors.Is(err, ErrClosed) {
				t.Errorf("write after close: %v", err)
			}
		}()
	}
	wg.Wait()

	for _, c := range cases {
		info := mediatest.Probe(t, c.path)
		if len(info.Streams) != 1 {
			t.Fatalf("%s: streams %+v", c.path, info.Streams)
		}
		s := info.Streams[0]
		want := map[media.Kind]string{media.Video: "vp8", media.Audio: "opus"}[c.info.Kind]
		if s.CodecName != want {
			t.Errorf("%s: codec %s, want %s", c.path, s.CodecName, want)
		}
		if c.info.Kind == media.Video && (s.Width != 320 || s.Height != 240) {
			t.Errorf("%s: %dx%d", c.path, s.Width, s.Height)
		}
		if d := info.Duration - secs; d < -0.5 || d > 0.5 {
			t.Errorf("%s: lasts %.3fs, want %ds", c.path, info.Duration, secs)
		}
		tm, err := ReadTrackTiming(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if first := binary.BigEndian.Uint32(c.pkts[0].data[4:8]); tm.FirstRTP != first || tm.FirstArrival.IsZero() {
			t.Errorf("%s: timing first rtp %d at %v, want %d", c.path, tm.FirstRTP, tm.FirstArrival, first)
		}
		if len(tm.SenderReports) < secs-1 || tm.ClockRate != c.info.ClockRate || tm.SSRC != c.info.SSRC {
			t.Errorf("%s: timing %+v", c.path, tm)
		}
	}
	// An unfinished Matroska file has no duration in its header: decode it.
	ci := mediatest.Probe(t, crash)
	if v := ci.Video(); v == nil || v.CodecName != "vp8" {
		t.Errorf("mid-recording copy: %+v", ci.Streams)
	}
	if n := len(mediatest.Frames(t, crash, 320, 240, 30)); n < 30 {
		t.Errorf("mid-recording copy decodes to %d frames, want ≥ 30 (1 s)", n)
	}
}

func TestTrackBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewTrack(TrackConfig{Path: filepath.Join(dir, "x.mkv"),
		Info: media.TrackInfo{MimeType: "video/AV1", ClockRate: 90000}}); !errors.Is(err, ErrCodec) {
		t.Errorf("AV1 track: %v, want ErrCodec", err)
	}
	if _, err := NewTrack(TrackConfig{Info: media.TrackInfo{MimeType: "video/VP8", ClockRate: 90000}}); !errors.Is(err, ErrConfig) {
		t.Errorf("no path: %v, want ErrConfig", err)
	}
	tr, err := NewTrack(TrackConfig{Path: filepath.Join(dir, "v.mkv"),
		Info: media.TrackInfo{Kind: media.Video, MimeType: "video/VP8", ClockRate: 90000, PayloadType: 96}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range [][]byte{nil, {0x80}, make([]byte, 12), append([]byte{0x80, 97}, make([]byte, 20)...)} {
		if err := tr.WriteRTP(pkt); !errors.Is(err, ErrRTP) {
			t.Errorf("WriteRTP(%x) = %v, want ErrRTP", pkt, err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Errorf("close of an empty track: %v", err)
	}
}
