package room

import "errors"

var (
	ErrBadName = errors.New("invalid room name: use 1-64 letters, digits, '-' or '_'")
	ErrClosed  = errors.New("room registry is closed")
)
