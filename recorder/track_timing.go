package recorder

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// TrackTiming is the sidecar <path>.timing.json of a raw track: enough to
// place the track's RTP time on the wall clock and compose it again in sync
// with the room's other tracks.
type TrackTiming struct {
	Room          string        `json:"room,omitempty"`
	Participant   string        `json:"participant,omitempty"`
	TrackID       string        `json:"track_id,omitempty"`
	Kind          media.Kind    `json:"kind"`
	MimeType      string        `json:"mime_type"`
	ClockRate     uint32        `json:"clock_rate"`
	SSRC          uint32        `json:"ssrc"`
	FirstRTP      uint32        `json:"first_rtp_timestamp"`
	FirstArrival  time.Time     `json:"first_arrival"`
	SenderReports []TimingPoint `json:"sender_reports"`
}

// TimingPoint is one RTCP sender report's NTP/RTP pair.
type TimingPoint struct {
	NTP     uint64    `json:"ntp"`
	RTP     uint32    `json:"rtp"`
	Arrival time.Time `json:"arrival"`
}

// TimingPath is where the sidecar of the track file at path goes.
func TimingPath(path string) string { return path + ".timing.json" }

// ReadTrackTiming reads a track's sidecar.
func ReadTrackTiming(path string) (TrackTiming, error) {
	var t TrackTiming
	b, err := os.ReadFile(TimingPath(path))
	if err != nil {
		return t, fmt.Errorf("recorder: timing: %w", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("recorder: timing %s: %w", TimingPath(path), err)
	}
	return t, nil
}

// write replaces the sidecar atomically (temp file, fsync, rename).
func (t *TrackTiming) write(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("recorder: timing: %w", err)
	}
	tmp := TimingPath(path) + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("recorder: timing: %w", err)
	}
	if _, err := f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recorder: timing: %w", err)
	}
	if err := os.Rename(tmp, TimingPath(path)); err != nil {
		return fmt.Errorf("recorder: timing: %w", err)
	}
	return nil
}
