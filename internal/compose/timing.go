package compose

import (
	"sort"
	"time"

	"github.com/mosaic-rtc/mosaic/recorder"
)

// maxClockSkew is how far a participant's NTP clock (from its sender
// reports) may disagree with the arrival of its first packet before the
// arrival is trusted instead to place the participant in the room.
const maxClockSkew = 2 * time.Second

// ntpEpoch is 1900-01-01 in Unix seconds.
const ntpEpoch = 2208988800

func ntpTime(ntp uint64) time.Time {
	secs, frac := int64(ntp>>32), ntp&0xffffffff
	return time.Unix(secs-ntpEpoch, int64((frac*1_000_000_000)>>32))
}

// senderStart is when, on the sender's NTP clock, the track's first RTP
// packet was captured; ok is false without a usable sender report.
func senderStart(t recorder.TrackTiming) (time.Time, bool) {
	if t.ClockRate == 0 || len(t.SenderReports) == 0 {
		return time.Time{}, false
	}
	sr := t.SenderReports[0]
	if sr.NTP == 0 {
		return time.Time{}, false
	}
	diff := int64(int32(t.FirstRTP - sr.RTP)) // wrap-safe
	return ntpTime(sr.NTP).Add(time.Duration(diff * int64(time.Second) / int64(t.ClockRate))), true
}

// wallStarts places every track's first packet on one clock: a
// participant's tracks relative to each other by their sender reports
// (lip sync), participants relative to each other by NTP; a participant
// whose NTP clock is off by more than maxClockSkew, or whose tracks have no
// sender report, is placed by the arrival of its packets.
func wallStarts(tracks []TrackFile) []time.Time {
	out := make([]time.Time, len(tracks))
	byParticipant := map[string][]int{}
	for i, t := range tracks {
		byParticipant[t.Participant] = append(byParticipant[t.Participant], i)
	}
	for _, idx := range byParticipant {
		// The participant's skew: arrival minus sender clock, the median
		// over its tracks with sender reports.
		var skews []time.Duration
		for _, i := range idx {
			if s, ok := senderStart(tracks[i].Timing); ok && !tracks[i].Timing.FirstArrival.IsZero() {
				skews = append(skews, tracks[i].Timing.FirstArrival.Sub(s))
			}
		}
		var skew time.Duration
		if len(skews) > 0 {
			sort.Slice(skews, func(a, b int) bool { return skews[a] < skews[b] })
			if m := skews[len(skews)/2]; m > maxClockSkew || m < -maxClockSkew {
				skew = m
			}
		}
		for _, i := range idx {
			if s, ok := senderStart(tracks[i].Timing); ok {
				out[i] = s.Add(skew)
			} else {
				out[i] = tracks[i].Timing.FirstArrival
			}
		}
	}
	return out
}
