package mixer

import (
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Active speaker, for the speaker layout: every audio track keeps a smoothed
// loudness of its decoded samples; the owner goroutine looks every
// speakerTick for the loudest participant and moves the main tile to them,
// but not more often than speakerHold, so that short interjections do not
// make the picture jump.
const (
	speakerTick      = 300 * time.Millisecond
	speakerHold      = 1500 * time.Millisecond
	speakerThreshold = 3.2e-5 // mean square, about -45 dBFS
	levelSmoothing   = 0.1    // weight of a new 20 ms buffer in the average
)

// updateSpeaker moves the speaker layout's main tile to the loudest
// participant. It runs on the owner goroutine.
func (m *Mixer) updateSpeaker() {
	m.mu.Lock()
	speakerLayout := m.layout.Kind == LayoutSpeaker
	loudest, best := "", speakerThreshold
	current := 0.0
	for _, in := range m.inputs {
		if in.spec.kind != media.Audio {
			continue
		}
		lv := in.level.read().level
		if in.info.Participant == m.speaker {
			current = max(current, lv)
		}
		if lv > best {
			loudest, best = in.info.Participant, lv
		}
	}
	switching := loudest != "" && loudest != m.speaker &&
		(m.speaker == "" || current < speakerThreshold || time.Since(m.speakerSince) >= speakerHold)
	if switching {
		m.speaker, m.speakerSince = loudest, time.Now()
	}
	m.mu.Unlock()
	if switching {
		m.log.Debug("active speaker", "participant", loudest)
		if m.cfg.OnActiveSpeaker != nil {
			m.cfg.OnActiveSpeaker(loudest)
		}
		if speakerLayout {
			if err := m.applyLayout(); err != nil {
				m.log.Warn("layout", "err", err)
			}
		}
	}
}

// focusIndex is the index among videos (in join order) of the track that
// gets the main tile, or -1. Called with m.mu held.
func (m *Mixer) focusIndex(videos []*input) int {
	switch m.layout.Kind {
	case LayoutPresentation:
		for i, in := range videos {
			if in.info.Screen {
				return i
			}
		}
	case LayoutSpeaker:
		for i, in := range videos {
			if in.info.Participant == m.speaker && !in.info.Screen {
				return i
			}
		}
	}
	return -1
}
