package ingest

import "errors"

// Errors the room registry returns from Rooms.Join and Rooms.Watch (wrapped
// or not); the handlers map them to HTTP statuses.
var (
	ErrRoomFull   = errors.New("room is full")
	ErrNoSuchRoom = errors.New("no such room")
)

// Errors of the ingest handlers themselves.
var (
	ErrClosed          = errors.New("ingest server is closed")
	ErrNoSuchSession   = errors.New("no such session")
	ErrMalformedOffer  = errors.New("malformed SDP offer")
	ErrUnsupported     = errors.New("unsupported offer")
	ErrNothingToAccept = errors.New("offer has nothing to receive")
	ErrICERestart      = errors.New("ICE restart is not supported")
	ErrMalformedFrag   = errors.New("malformed trickle-ice-sdpfrag")
)
