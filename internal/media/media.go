// Package media holds the few types that cross package boundaries: what a
// published track is, and what an encoded sample of the room's composite is.
// It has no behaviour and depends on nothing but the standard library.
package media

import "time"

// Kind is audio or video.
type Kind string

const (
	Audio Kind = "audio"
	Video Kind = "video"
)

// TrackInfo describes one incoming RTP track of a participant.
type TrackInfo struct {
	Room        string
	Participant string // stable id of the participant session
	Name        string // display name (token identity)
	TrackID     string // unique within the participant
	Kind        Kind
	// MimeType as in pion: "video/VP8", "video/H264", "video/VP9", "audio/opus".
	MimeType    string
	ClockRate   uint32
	Channels    uint16
	PayloadType uint8
	SSRC        uint32
	// Screen is true for a screen share (a second video track of a participant).
	Screen bool
}

// SenderReport is the NTP/RTP pairing from an RTCP sender report; it lets the
// mixer and the raw-track recorder place a track's RTP time on a wall clock.
type SenderReport struct {
	SSRC        uint32
	NTPTime     uint64 // 64-bit NTP timestamp
	RTPTime     uint32
	PacketCount uint32
	OctetCount  uint32
	Arrival     time.Time
}

// TrackSink receives one track's packets. Ingest owns the reading loop and
// calls these from one goroutine per track; Close is called once when the
// track ends.
type TrackSink interface {
	WriteRTP(packet []byte) error
	WriteSenderReport(SenderReport)
	Close() error
}

// SizeHinter is implemented by a video TrackSink that knows how large the
// track is shown: the size in pixels of its tile in the room's composite
// (0x0 while it is hidden, negative for no preference). Ingest polls it to
// forward the simulcast layer that fits.
type SizeHinter interface {
	DesiredSize() (width, height int)
}

// Codec of an encoded output stream.
type Codec string

const (
	H264 Codec = "H264" // Annex B byte-stream, access units, SPS/PPS before every keyframe
	VP8  Codec = "VP8"
	AAC  Codec = "AAC"  // raw AAC frames (no ADTS); config in StreamInfo.AudioConfig
	Opus Codec = "Opus" // raw Opus packets
)

// Sample is one encoded access unit of the composite.
type Sample struct {
	Kind     Kind
	Codec    Codec
	Data     []byte
	PTS      time.Duration // presentation time since the start of the room's clock
	DTS      time.Duration
	Duration time.Duration
	Keyframe bool
}

// StreamInfo describes the composite's encoded streams.
type StreamInfo struct {
	Width, Height int
	FPS           int
	VideoCodec    Codec
	// AudioConfig is the AAC AudioSpecificConfig (codec_data) of the AAC stream.
	AudioConfig     []byte
	AudioSampleRate int
	AudioChannels   int
}
