package mixer

import "github.com/mosaic-rtc/mosaic/internal/media"

// DesiredSize implements media.SizeHinter: the size in output pixels of the
// tile the input is shown in under the current layout (as applyLayout
// places it), 0x0 for audio, a hidden tile or an input that is gone.
func (in *input) DesiredSize() (width, height int) {
	if in.spec.kind != media.Video || in.closed.Load() {
		return 0, 0
	}
	_, videos, tiles := in.m.placements()
	for i, v := range videos {
		if v == in && i < len(tiles) {
			return max(tiles[i].W, 0), max(tiles[i].H, 0)
		}
	}
	return 0, 0
}
