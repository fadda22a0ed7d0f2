package compose

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// participant is how one fixture participant published.
type participant struct {
	name     string
	clip     string        // p1.webm …
	delay    time.Duration // when it joined, after the room's start
	audioLag time.Duration // its audio packets arrived this much after the video of the same instant
	// micFrom and micTo (clip time; 0: the whole clip) keep only that
	// stretch of its microphone, as when it was muted before and after.
	micFrom, micTo time.Duration
}

// fixtureTracks makes the raw track files a recording of the participants
// would hold: each clip stream goes through its RTP payloader and
// depayloader into Matroska (as recorder.Track stores it), with a timing
// sidecar whose sender reports tell the truth about capture times where
// the arrival of the first packet does not. No pacing: timestamps are the
// clip's own, so the fixture is exact on a loaded machine.
func fixtureTracks(t *testing.T, dir string, ps ...participant) []TrackFile {
	t.Helper()
	inputs := testenv.Inputs(t)
	room := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.MkdirAll(filepath.Join(dir, "tracks"), 0o755); err != nil {
		t.Fatal(err)
	}
	var files []TrackFile
	for pi, pp := range ps {
		for _, k := range []struct {
			kind       media.Kind
			name, pad  string
			pay, depay string
			mime       string
			clock      uint32
			lag        time.Duration
			lo, hi     time.Duration
		}{
			{media.Video, "cam", "video_0", "rtpvp8pay", "rtpvp8depay", "video/VP8", 90000, 0, 0, 0},
			{media.Audio, "mic", "audio_0", "rtpopuspay", "rtpopusdepay ! opusparse", "audio/opus", 48000, pp.audioLag, pp.micFrom, pp.micTo},
		} {
			path := filepath.Join(dir, "tracks", pp.name+"-"+k.name+".mkv")
			ssrc := uint32(1000 + 10*pi + len(files))
			firstPTS, firstRTP := remuxClip(t, filepath.Join(inputs, pp.clip), k.pad,
				fmt.Sprintf("%s name=pay ssrc=%d timestamp-offset=%d", k.pay, ssrc, 12345*ssrc), k.depay, path, k.lo, k.hi)
			capture := room.Add(pp.delay) // wall time of the clip's media time 0
			tm := recorder.TrackTiming{Room: "room", Participant: pp.name, TrackID: k.name, Kind: k.kind, MimeType: k.mime,
				ClockRate: k.clock, SSRC: ssrc, FirstRTP: firstRTP, FirstArrival: capture.Add(firstPTS + k.lag + 20*time.Millisecond)}
			for s := 1; s <= 8; s++ {
				at := firstPTS + time.Duration(s)*time.Second
				tm.SenderReports = append(tm.SenderReports, recorder.TimingPoint{NTP: ntpOf(capture.Add(at)),
					RTP: firstRTP + uint32(s)*k.clock, Arrival: capture.Add(at + k.lag)})
			}
			files = append(files, TrackFile{Participant: pp.name, Name: k.name, Kind: k.kind, Path: path, Timing: tm})
		}
	}
	return files
}

// remuxClip runs clip's stream (its lo..hi stretch; hi 0: to the end)
// through pay ! depay into a Matroska file and returns the media time and
// RTP timestamp of its first packet.
func remuxClip(t *testing.T, clip, pad, pay, depay, out string, lo, hi time.Duration) (time.Duration, uint32) {
	t.Helper()
	initGst()
	p, err := gst.NewPipelineFromString(fmt.Sprintf("filesrc location=%s ! matroskademux name=d d.%s ! queue ! %s ! %s ! matroskamux ! filesink location=%s",
		clip, pad, pay, depay, out))
	if err != nil {
		t.Fatal(err)
	}
	defer p.SetState(gst.StateNull)
	payEl, err := p.GetElementByName("pay")
	if err != nil {
		t.Fatal(err)
	}
	firstPTS, firstRTP := time.Duration(-1), uint32(0)
	payEl.GetStaticPad("sink").AddProbe(gst.PadProbeTypeBuffer, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		b := info.GetBuffer()
		if b == nil {
			return gst.PadProbeOK
		}
		if pts := time.Duration(b.PresentationTimestamp()); pts < lo || hi > 0 && pts >= hi {
			return gst.PadProbeDrop
		}
		if firstPTS < 0 {
			firstPTS = time.Duration(b.PresentationTimestamp())
		}
		return gst.PadProbeOK
	})
	payEl.GetStaticPad("src").AddProbe(gst.PadProbeTypeBuffer|gst.PadProbeTypeBufferList, func(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
		if firstRTP != 0 {
			return gst.PadProbeOK
		}
		var b *gst.Buffer
		if info.Type()&gst.PadProbeTypeBuffer != 0 {
			b = info.GetBuffer()
		} else if l := info.GetBufferList(); l != nil {
			b = l.GetBufferAt(0)
		}
		if b != nil {
			firstRTP = binary.BigEndian.Uint32(b.Bytes()[4:8])
		}
		return gst.PadProbeOK
	})
	if err := p.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	msg := p.GetPipelineBus().TimedPopFiltered(gst.ClockTime(time.Minute), gst.MessageEOS|gst.MessageError)
	if msg == nil || msg.Type() != gst.MessageEOS {
		t.Fatalf("remux %s %s: %v", clip, pad, msg)
	}
	if firstPTS < 0 || firstRTP == 0 {
		t.Fatalf("remux %s %s: no packet (%s, %d)", clip, pad, firstPTS, firstRTP)
	}
	return firstPTS, firstRTP
}

func ntpOf(w time.Time) uint64 {
	secs := uint64(w.Unix() + ntpEpoch)
	frac := (uint64(w.Nanosecond()) << 32) / 1_000_000_000
	return secs<<32 | frac
}
