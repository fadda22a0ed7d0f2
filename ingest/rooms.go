package ingest

import (
	"context"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Rooms is the room registry as ingest sees it.
type Rooms interface {
	// Join admits a publisher into a room (creating it if needed). It returns
	// ErrRoomFull (or another error) to refuse.
	Join(ctx context.Context, room string, p Participant) (Room, error)
	// Watch returns the live composite of a room for a viewer; ErrNoSuchRoom
	// if the room does not exist.
	Watch(ctx context.Context, room string, viewerID string) (Live, error)
}

// Participant is a publisher joining a room.
type Participant struct{ ID, Name string }

// Room takes a participant's tracks.
type Room interface {
	// AddTrack announces a published track; requestKeyframe asks the
	// publisher for a keyframe (rate-limited, safe from any goroutine).
	AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error)
	// Leave is called once when the publisher's session ends, after every
	// sink of the participant was closed.
	Leave(participantID string)
}

// Live is a room's composite as one viewer receives it.
type Live interface {
	// Output carries encoded composite samples: H264 Annex-B video and Opus
	// audio (other codecs are ignored).
	Output() *media.Stream
	RequestKeyframe()
	// Leave is called once when the viewer is gone.
	Leave()
}
