package mixer

import (
	"sort"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// DesiredSize implements media.SizeHinter: the size in output pixels of the
// tile the input is shown in under the current layout (as applyLayout
// places it), 0x0 for audio, a hidden tile or an input that is gone.
func (in *input) DesiredSize() (width, height int) {
	if in.spec.kind != media.Video || in.closed.Load() {
		return 0, 0
	}
	m := in.m
	m.mu.Lock()
	layout := m.layout
	var videos []*input
	for _, v := range m.inputs {
		if v.spec.kind == media.Video {
			videos = append(videos, v)
		}
	}
	sort.Slice(videos, func(i, j int) bool { return videos[i].id < videos[j].id })
	focus := m.focusIndex(videos)
	m.mu.Unlock()
	tiles := layout.tiles(len(videos), focus, m.cfg.Width, m.cfg.Height)
	for i, v := range videos {
		if v == in && i < len(tiles) {
			return max(tiles[i].W, 0), max(tiles[i].H, 0)
		}
	}
	return 0, 0
}
