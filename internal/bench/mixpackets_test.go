package bench

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// recordSink keeps what a feed writes.
type recordSink struct {
	packets [][]byte
	reports []media.SenderReport
}

func (r *recordSink) WriteRTP(p []byte) error {
	r.packets = append(r.packets, append([]byte(nil), p...))
	return nil
}
func (r *recordSink) WriteSenderReport(sr media.SenderReport) { r.reports = append(r.reports, sr) }
func (r *recordSink) Close() error                            { return nil }

// TestPacketFeedLoops: a clip loaded for 2 s and played for 5 s passes its
// loop seams with sequence numbers one apart and timestamps moving on by
// about a frame, under the participant's SSRCs, with a sender report per second.
func TestPacketFeedLoops(t *testing.T) {
	clip, err := loadClipPackets(filepath.Join(testenv.Inputs(t), "p1.webm"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if clip.span != 2*time.Second || clip.tracks[0].packets < 60 || clip.tracks[1].packets < 90 {
		t.Fatalf("span %s, %d video and %d audio packets", clip.span, clip.tracks[0].packets, clip.tracks[1].packets)
	}
	sinks := []*recordSink{{}, {}}
	f := &packetFeed{clip: clip, ssrc: 5000, sinks: []media.TrackSink{sinks[0], sinks[1]},
		tracks: []feedState{{lastSR: -time.Hour}, {lastSR: -time.Hour}}}
	start := time.Now().Add(-time.Hour) // everything is due at once
	for f.due() < 5*time.Second {
		if err := f.send(start); err != nil {
			t.Fatal(err)
		}
	}
	if f.loop != 2 {
		t.Fatalf("after 5 s of a 2 s clip the feed is in pass %d, want 2", f.loop)
	}
	for i, s := range sinks {
		frame := map[int]uint32{0: 3000, 1: 960}[i]
		var lastTS uint32
		for k, p := range s.packets {
			if ssrc := binary.BigEndian.Uint32(p[8:]); ssrc != 5000+uint32(i) {
				t.Fatalf("track %d packet %d: SSRC %d", i, k, ssrc)
			}
			ts := binary.BigEndian.Uint32(p[4:])
			if k > 0 {
				if seq, prev := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint16(s.packets[k-1][2:]); seq != prev+1 {
					t.Fatalf("track %d packet %d: sequence %d after %d", i, k, seq, prev)
				}
				// At a video seam the step is one frame (the clip's times are
				// whole milliseconds: a 30 fps frame is 33 or 34 ms); the
				// clip's first Opus frame is short, so an audio seam steps
				// less than a frame. Elsewhere the timestamps only move forward.
				d := int64(ts - lastTS)
				seam := k%clip.tracks[i].packets == 0
				videoSeam := seam && i == 0 && (d < int64(frame)*97/100 || d > int64(frame)*103/100)
				audioSeam := seam && i == 1 && (d <= 0 || d > int64(frame))
				if videoSeam || audioSeam || d < 0 || d > 2*int64(frame) {
					t.Fatalf("track %d packet %d (seam %v): timestamp step %d, frame %d", i, k, seam, d, frame)
				}
			}
			lastTS = ts
		}
		if n := len(s.reports); n < 4 || n > 6 {
			t.Fatalf("track %d: %d sender reports in 5 s", i, n)
		}
	}
}
