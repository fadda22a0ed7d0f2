package compose

import (
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/recorder"
)

func timingAt(participant string, clock uint32, firstRTP uint32, capture, arrival time.Time, reports bool) TrackFile {
	tm := recorder.TrackTiming{Participant: participant, ClockRate: clock, FirstRTP: firstRTP, FirstArrival: arrival}
	if reports {
		// A report 1 s of media after the first packet.
		tm.SenderReports = []recorder.TimingPoint{{NTP: ntpOf(capture.Add(time.Second)), RTP: firstRTP + clock}}
	}
	return TrackFile{Participant: participant, Timing: tm}
}

// wallStarts: sender reports place a participant's tracks relative to each
// other whatever their arrival; participants are placed by NTP, by arrival
// when a sender's clock is far off or it sent no report.
func TestWallStarts(t *testing.T) {
	room := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tracks := []TrackFile{
		// a: audio arrives 400 ms after video, captured at the same time.
		timingAt("a", 90000, 4_294_000_000, room, room.Add(30*time.Millisecond), true), // RTP wraps in the first second
		timingAt("a", 48000, 7, room, room.Add(430*time.Millisecond), true),
		// b: joined 3 s later, its NTP clock an hour ahead.
		timingAt("b", 90000, 100, room.Add(time.Hour+3*time.Second), room.Add(3*time.Second+40*time.Millisecond), true),
		timingAt("b", 48000, 100, room.Add(time.Hour+3*time.Second+100*time.Millisecond), room.Add(3*time.Second+140*time.Millisecond), true),
		// c: no sender report, placed by arrival.
		timingAt("c", 90000, 100, time.Time{}, room.Add(5*time.Second), false),
	}
	w := wallStarts(tracks)
	near := func(i int, want time.Time, tol time.Duration) {
		t.Helper()
		if d := w[i].Sub(want); d < -tol || d > tol {
			t.Errorf("track %d at %s, want %s", i, w[i].Sub(room), want.Sub(room))
		}
	}
	near(0, room, time.Millisecond)
	near(1, room, time.Millisecond)
	// b's clock is rebased on its arrivals, its A/V relation kept (100 ms).
	if d := w[3].Sub(w[2]); d < 99*time.Millisecond || d > 101*time.Millisecond {
		t.Errorf("b's audio %s after its video, want 100 ms", d)
	}
	near(2, room.Add(3*time.Second+90*time.Millisecond), 60*time.Millisecond)
	near(4, room.Add(5*time.Second), 0)
}
