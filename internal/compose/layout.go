package compose

import (
	"errors"
	"fmt"
	"math"

	"github.com/mosaic-rtc/mosaic/mixer"
)

// rect is a tile in output pixels.
type rect struct{ X, Y, W, H int }

// validateLayout checks l with the mixer's rules, as an ErrLayout.
func validateLayout(l mixer.Layout) error {
	if err := l.Validate(); err != nil {
		if errors.Is(err, mixer.ErrInvalidLayout) {
			return fmt.Errorf("%w: %w", ErrLayout, err)
		}
		return err
	}
	return nil
}

// tiles places n video tracks on a width x height picture the way the
// mixer does. Speaker and presentation give the main tile to focus (-1:
// none, a grid); custom regions go to tracks in order, the rest are hidden.
func tiles(l mixer.Layout, n, focus, width, height int) []rect {
	if (l.Kind == mixer.LayoutSpeaker || l.Kind == mixer.LayoutPresentation) && focus >= 0 && focus < n && n > 1 {
		return focusTiles(n, focus, width, height)
	}
	if l.Kind == mixer.LayoutCustom {
		out := make([]rect, n)
		for i := 0; i < n && i < len(l.Regions); i++ {
			r := l.Regions[i]
			out[i] = pixelRect(r.X, r.Y, r.W, r.H, width, height)
		}
		return out
	}
	return gridTiles(n, width, height)
}

func gridTiles(n, width, height int) []rect {
	if n <= 0 {
		return nil
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	w, h := 1/float64(cols), 1/float64(rows)
	out := make([]rect, 0, n)
	for i := range n {
		row, col := i/cols, i%cols
		x := float64(col) * w
		if row == rows-1 {
			if inLast := n - row*cols; inLast < cols {
				x += float64(cols-inLast) * w / 2
			}
		}
		out = append(out, pixelRect(x, float64(row)*h, w, h, width, height))
	}
	return out
}

func focusTiles(n, focus, width, height int) []rect {
	const mainW = 0.75
	out := make([]rect, n)
	out[focus] = pixelRect(0, 0, mainW, 1, width, height)
	slots := max(n-1, 4)
	h := 1 / float64(slots)
	top := (1 - float64(n-1)*h) / 2
	k := 0
	for i := range n {
		if i == focus {
			continue
		}
		out[i] = pixelRect(mainW, top+float64(k)*h, 1-mainW, h, width, height)
		k++
	}
	return out
}

func pixelRect(x, y, w, h float64, width, height int) rect {
	even := func(v float64) int { return int(math.Round(v/2)) * 2 }
	r := rect{X: even(x * float64(width)), Y: even(y * float64(height))}
	r.W = min(even((x+w)*float64(width)), width) - r.X
	r.H = min(even((y+h)*float64(height)), height) - r.Y
	return r
}
