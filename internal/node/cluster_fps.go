package node

import (
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/mixer"
)

// fpsMeter measures each room's composite frame rate from its mixer's
// frame counter, over windows of at least fpsWindow.
type fpsMeter struct {
	mu    sync.Mutex
	rooms map[string]*fpsSample
}

type fpsSample struct {
	frames uint64
	at     time.Time
	fps    float64 // of the last full window; 0 before the first
}

const fpsWindow = 2 * time.Second

type statser interface{ Stats() mixer.Stats }

// rate returns room's composite frame rate lately (0: not measured yet).
func (m *fpsMeter) rate(room string, mx any, now time.Time) float64 {
	st, ok := mx.(statser)
	if !ok {
		return 0
	}
	frames := st.Stats().VideoFrames
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms == nil {
		m.rooms = map[string]*fpsSample{}
	}
	s, ok := m.rooms[room]
	if !ok || frames < s.frames {
		m.rooms[room] = &fpsSample{frames: frames, at: now}
		return 0
	}
	if d := now.Sub(s.at); d >= fpsWindow {
		s.fps = float64(frames-s.frames) / d.Seconds()
		s.frames, s.at = frames, now
	}
	return s.fps
}

// keep forgets rooms that are gone.
func (m *fpsMeter) keep(open map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.rooms {
		if !open[name] {
			delete(m.rooms, name)
		}
	}
}
