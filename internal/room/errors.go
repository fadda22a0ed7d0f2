package room

import "errors"

var (
	ErrBadName = errors.New("invalid room name: use 1-64 letters, digits, '-' or '_'")
	ErrClosed  = errors.New("room registry is closed")
	// ErrTapExists is returned by Tap for a key already attached.
	ErrTapExists = errors.New("track tap already attached")
)
