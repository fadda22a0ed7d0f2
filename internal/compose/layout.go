package compose

import (
	"errors"
	"fmt"

	"github.com/mosaic-rtc/mosaic/mixer"
)

// rect is a tile in output pixels, placed as the mixer places it.
type rect = mixer.Rect

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
