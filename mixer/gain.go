package mixer

import (
	"fmt"
	"math"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// MaxGain is the largest per-participant gain (audiomixer's pad volume
// limit, +20 dB). Whatever the gains, the limiter keeps the mix under full
// scale.
const MaxGain = 10

// SetGain sets a participant's audio gain (linear: 0 mutes, 1 leaves the
// level as sent, 2 is about +6 dB). It applies to the participant's audio
// tracks now and to those added later, until changed again.
func (m *Mixer) SetGain(participant string, gain float64) error {
	if math.IsNaN(gain) || gain < 0 || gain > MaxGain {
		return fmt.Errorf("%w: %v for %q (want 0..%d)", ErrInvalidGain, gain, participant, MaxGain)
	}
	return m.do(func() error {
		m.mu.Lock()
		if gain == 1 {
			delete(m.gains, participant)
		} else {
			m.gains[participant] = gain
		}
		var tracks []*input
		for _, in := range m.inputs {
			if in.info.Participant == participant && in.spec.kind == media.Audio {
				tracks = append(tracks, in)
			}
		}
		m.mu.Unlock()
		for _, in := range tracks {
			if err := in.applyGain(gain); err != nil {
				return err
			}
		}
		return nil
	})
}

// gainOf is a participant's gain. Called with m.mu held.
func (m *Mixer) gainOf(participant string) float64 {
	if g, ok := m.gains[participant]; ok {
		return g
	}
	return 1
}

// applyGain sets the volume of the track's audiomixer pad.
func (in *input) applyGain(gain float64) error {
	if in.aggPad == nil {
		return nil
	}
	return setProps(in.aggPad, p("volume", gain))
}
