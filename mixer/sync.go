package mixer

import (
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Lip-sync. Each branch is timestamped on arrival (appsrc do-timestamp) and
// smoothed by its jitterbuffer, whose running time follows the least
// delayed packets it has seen, so a track that travels with more delay than
// its sibling shows up late. A sender report pairs the sender's wall clock
// (NTP) with an RTP timestamp; with the running time the jitterbuffer gives
// each packet we know, per track, d = capture wall time - running time.
// Tracks of one participant are in sync when running time + offset equals
// capture time minus a common constant, so each track's pad offset is its d
// minus the smallest d of the participant: the early track waits for the
// late. d is taken from every packet that leaves the jitterbuffer, not only
// the one after a report: the jitterbuffer's estimate of the network delay
// settles over its first seconds, at a different pace for audio (few
// packets) and video (many), and the offsets follow it as it moves.

// maxSyncOffset bounds the correction; larger values mean a broken report.
const maxSyncOffset = time.Second

// resyncThreshold is the smallest change of an applied offset: each change
// is a tiny gap or overlap in the audio mix, and what is left uncorrected
// adds to the composite's frame-grid error (up to half a frame).
const resyncThreshold = time.Millisecond

// syncLookInterval is how often a packet leaving the jitterbuffer is looked at.
const syncLookInterval = 10 * time.Millisecond

// dChange is how far d must move before the participant's offsets are
// recomputed (the jitterbuffer moves its estimate a little with every packet).
const dChange = 250 * time.Microsecond

// trackClock is one track's timing: the latest sender report and the d it
// gives the packets leaving the jitterbuffer.
type trackClock struct {
	mu     sync.Mutex
	sr     media.SenderReport // latest
	haveSR bool
	haveD  bool
	d      time.Duration // capture wall time (since 1900) - running time
	told   time.Duration // d when the offsets were last recomputed
	base   time.Duration // fixed offset of the track (half a frame for video)
	offset time.Duration // currently applied lip-sync offset (on top of base)
}

// report keeps the latest sender report; one without a time is ignored.
func (c *trackClock) report(sr media.SenderReport) {
	if sr.NTPTime == 0 {
		return
	}
	c.mu.Lock()
	c.sr, c.haveSR = sr, true
	c.mu.Unlock()
}

// observe places a packet (RTP timestamp ts, running time pts) on the
// sender's wall clock; true when d moved enough that the participant's
// offsets should be recomputed.
func (c *trackClock) observe(ts uint32, pts time.Duration, clockRate uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clockRate == 0 || !c.haveSR {
		return false
	}
	delta := time.Duration(int32(ts-c.sr.RTPTime)) * time.Second / time.Duration(clockRate)
	c.d = ntpDuration(c.sr.NTPTime) + delta - pts
	if c.haveD && absDuration(c.d-c.told) < dChange {
		return false
	}
	c.haveD, c.told = true, c.d
	return true
}

func (c *trackClock) get() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d, c.haveD
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// ntpDuration is a 64-bit NTP timestamp as time since 1900.
func ntpDuration(ntp uint64) time.Duration {
	secs := time.Duration(ntp>>32) * time.Second
	frac := time.Duration((ntp & 0xffffffff) * uint64(time.Second) >> 32)
	return secs + frac
}

// resync recomputes the pad offsets of one participant's tracks.
func (m *Mixer) resync(participant string) {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	var tracks []*input
	for _, in := range m.inputs {
		if in.info.Participant == participant && !in.placeholder && !in.closed.Load() {
			tracks = append(tracks, in)
		}
	}
	m.mu.Unlock()
	if len(tracks) < 2 {
		return
	}
	ds := make([]time.Duration, len(tracks))
	lo := time.Duration(0)
	for i, in := range tracks {
		d, ok := in.clock.get()
		if !ok {
			return
		}
		ds[i] = d
		if i == 0 || d < lo {
			lo = d
		}
	}
	for i, in := range tracks {
		off := ds[i] - lo
		if off > maxSyncOffset {
			in.log.Warn("lip-sync offset out of range, ignored", "offset", off)
			continue
		}
		in.clock.mu.Lock()
		cur := in.clock.offset
		if absDuration(off-cur) >= resyncThreshold {
			in.clock.offset = off
			in.queueSrc.SetOffset(int64(in.clock.base + off))
			in.log.Debug("lip-sync offset", "offset", off)
		}
		in.clock.mu.Unlock()
	}
}
