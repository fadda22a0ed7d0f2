package mixer

import (
	"fmt"
	"math"
)

// Layout kinds.
const (
	LayoutGrid   = "grid"
	LayoutCustom = "custom"
	// LayoutSpeaker gives the main tile to whoever speaks loudest (their
	// camera); the others line up in a column on the right.
	LayoutSpeaker = "speaker"
	// LayoutPresentation gives the main tile to a screen share, the cameras
	// line up on the right. Without a screen share it is a grid.
	LayoutPresentation = "presentation"
)

// Fit modes: how a participant's picture fills its tile.
const (
	FitLetterbox = "letterbox" // whole picture, aspect kept, black bars (default)
	FitCrop      = "crop"      // tile filled, aspect kept, edges cut off
)

// Region is one tile of a custom layout, in fractions of the output picture:
// X and Y are the top-left corner, W and H the size, all in 0..1, and the
// region must lie inside the picture. Regions are given to video tracks in
// the order they joined; tracks beyond the last region are hidden.
type Region struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Layout says where each participant's video goes in the composite.
type Layout struct {
	Kind    string   `json:"kind"`              // "grid", "custom", "speaker" or "presentation"
	Regions []Region `json:"regions,omitempty"` // custom only
	Fit     string   `json:"fit,omitempty"`     // "letterbox" (default) or "crop"
}

var kindList = fmt.Sprintf("%q, %q, %q or %q", LayoutGrid, LayoutCustom, LayoutSpeaker, LayoutPresentation)

// maxRegions bounds a custom layout.
const maxRegions = 64

// Validate reports precisely what is wrong with the layout, wrapping ErrInvalidLayout.
func (l Layout) Validate() error {
	switch l.Fit {
	case "", FitLetterbox, FitCrop:
	default:
		return fmt.Errorf("%w: fit %q (want %q or %q)", ErrInvalidLayout, l.Fit, FitLetterbox, FitCrop)
	}
	switch l.Kind {
	case LayoutGrid, LayoutSpeaker, LayoutPresentation:
		if len(l.Regions) > 0 {
			return fmt.Errorf("%w: %s layout takes no regions (got %d)", ErrInvalidLayout, l.Kind, len(l.Regions))
		}
		return nil
	case LayoutCustom:
	case "":
		return fmt.Errorf("%w: kind is empty (want %s)", ErrInvalidLayout, kindList)
	default:
		return fmt.Errorf("%w: unknown kind %q (want %s)", ErrInvalidLayout, l.Kind, kindList)
	}
	if len(l.Regions) == 0 {
		return fmt.Errorf("%w: custom layout needs at least one region", ErrInvalidLayout)
	}
	if len(l.Regions) > maxRegions {
		return fmt.Errorf("%w: %d regions (at most %d)", ErrInvalidLayout, len(l.Regions), maxRegions)
	}
	for i, r := range l.Regions {
		for _, v := range []float64{r.X, r.Y, r.W, r.H} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: region %d: coordinates must be finite numbers", ErrInvalidLayout, i)
			}
		}
		switch {
		case r.W <= 0 || r.H <= 0:
			return fmt.Errorf("%w: region %d: size %gx%g must be positive", ErrInvalidLayout, i, r.W, r.H)
		case r.X < 0 || r.Y < 0:
			return fmt.Errorf("%w: region %d: position (%g,%g) must not be negative", ErrInvalidLayout, i, r.X, r.Y)
		case r.X+r.W > 1+1e-9 || r.Y+r.H > 1+1e-9:
			return fmt.Errorf("%w: region %d: (%g,%g %gx%g) extends past the picture (fractions of 0..1)", ErrInvalidLayout, i, r.X, r.Y, r.W, r.H)
		}
	}
	return nil
}

// fit is the layout's fit mode with the default applied.
func (l Layout) fit() string {
	if l.Fit == "" {
		return FitLetterbox
	}
	return l.Fit
}

// Rect is a tile in output pixels.
type Rect struct{ X, Y, W, H int }

// Tiles places n video tracks on a width x height picture as the mixer
// does (compositions after the call use the same geometry); see tiles.
func (l Layout) Tiles(n, focus, width, height int) []Rect { return l.tiles(n, focus, width, height) }

// tiles places n video tracks on a width x height picture. focus is the
// index of the track that gets the main tile in speaker and presentation
// layouts (-1: none, which makes them a grid). A track whose rect has zero
// size is hidden.
func (l Layout) tiles(n, focus, width, height int) []Rect {
	if (l.Kind == LayoutSpeaker || l.Kind == LayoutPresentation) && focus >= 0 && focus < n && n > 1 {
		return focusTiles(n, focus, width, height)
	}
	if l.Kind == LayoutCustom {
		out := make([]Rect, n)
		for i := 0; i < n && i < len(l.Regions); i++ {
			r := l.Regions[i]
			out[i] = pixelRect(r.X, r.Y, r.W, r.H, width, height)
		}
		return out
	}
	return gridTiles(n, width, height)
}

// gridTiles: 1 → full picture, 2 → side by side, 3-4 → 2x2, 5-9 → 3 columns, …
// The last row, if not full, is centred.
func gridTiles(n, width, height int) []Rect {
	if n <= 0 {
		return nil
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	w, h := 1/float64(cols), 1/float64(rows)
	out := make([]Rect, 0, n)
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

// focusTiles: the focused track takes the left three quarters, the others
// share the right quarter as a column (at least four slots high).
func focusTiles(n, focus, width, height int) []Rect {
	const mainW = 0.75
	out := make([]Rect, n)
	out[focus] = pixelRect(0, 0, mainW, 1, width, height)
	slots := max(n-1, 4)
	h := 1 / float64(slots)
	top := (1 - float64(n-1)*h) / 2 // centre the column
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

// pixelRect converts fractions to even pixel coordinates.
func pixelRect(x, y, w, h float64, width, height int) Rect {
	even := func(v float64) int { return int(math.Round(v/2)) * 2 }
	r := Rect{X: even(x * float64(width)), Y: even(y * float64(height))}
	r.W = min(even((x+w)*float64(width)), width) - r.X
	r.H = min(even((y+h)*float64(height)), height) - r.Y
	return r
}
