package mixer

import (
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Lip-sync. Each branch is timestamped on arrival (appsrc do-timestamp) and
// smoothed by its jitterbuffer, so a track that travels with more delay than
// its sibling shows up late. A sender report pairs the sender's wall clock
// (NTP) with an RTP timestamp; with the running time the jitterbuffer gave
// a recent packet we know, per track, d = capture wall time - running time.
// Tracks of one participant are in sync when running time + offset equals
// capture time minus a common constant, so each track's pad offset is its d
// minus the smallest d of the participant: the early track waits for the late.

// maxSyncOffset bounds the correction; larger values mean a broken report.
const maxSyncOffset = time.Second

// resyncThreshold avoids touching offsets for sub-frame noise.
const resyncThreshold = 5 * time.Millisecond

// trackClock is one track's latest timing observations.
type trackClock struct {
	mu      sync.Mutex
	sr      media.SenderReport // latest, waiting for a packet to be paired with
	haveSR  bool
	havePkt bool
	rtpTS   uint32
	pts     time.Duration
	haveD   bool
	d       time.Duration   // capture wall time (since 1900) - running time
	recent  []time.Duration // the last syncWindow estimates of d
	base    time.Duration   // fixed offset of the track (half a frame for video)
	offset  time.Duration   // currently applied lip-sync offset (on top of base)
}

func (c *trackClock) observe(ts uint32, pts time.Duration) {
	c.mu.Lock()
	c.havePkt, c.rtpTS, c.pts = true, ts, pts
	c.mu.Unlock()
}

// report keeps a sender report until a packet comes to pair it with; false
// if the report carries no time.
func (c *trackClock) report(sr media.SenderReport) bool {
	if sr.NTPTime == 0 {
		return false
	}
	c.mu.Lock()
	c.sr, c.haveSR = sr, true
	c.mu.Unlock()
	return true
}

// apply updates d from the latest report and packet; false if nothing could be learnt.
func (c *trackClock) apply(clockRate uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clockRate == 0 || !c.haveSR || !c.havePkt {
		return false
	}
	delta := time.Duration(int32(c.rtpTS-c.sr.RTPTime)) * time.Second / time.Duration(clockRate)
	d := ntpDuration(c.sr.NTPTime) + delta - c.pts
	// One pairing carries that packet's network delay; the least delayed
	// of the recent ones (largest d) is the best estimate of the track's
	// base, so jitter does not move the offset around.
	c.recent = append(c.recent, d)
	if len(c.recent) > syncWindow {
		c.recent = c.recent[len(c.recent)-syncWindow:]
	}
	c.d = c.recent[0]
	for _, v := range c.recent[1:] {
		c.d = max(c.d, v)
	}
	c.haveD = true
	return true
}

// syncWindow is how many report pairings the base estimate looks back on.
const syncWindow = 8

func (c *trackClock) get() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d, c.haveD
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
		change := off - cur
		if change < 0 {
			change = -change
		}
		if change >= resyncThreshold {
			in.clock.offset = off
			in.queueSrc.SetOffset(int64(in.clock.base + off))
			in.log.Debug("lip-sync offset", "offset", off)
		}
		in.clock.mu.Unlock()
	}
}
