// Package catalog keeps recording state in Redis so that any node or worker
// can read and update it.
package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// State is where a recording is in its life.
type State string

const (
	StateRecording State = "recording"
	StateUploading State = "uploading"
	StateReady     State = "ready"
	StateFailed    State = "failed"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case StateRecording, StateUploading, StateReady, StateFailed:
		return true
	}
	return false
}

// Recording is one recording of a room's composite.
type Recording struct {
	ID        string     `json:"id"`
	Room      string     `json:"room"`
	Node      string     `json:"node,omitempty"`
	State     State      `json:"state"`
	Tracks    bool       `json:"tracks"`
	StartedAt time.Time  `json:"started_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	DurationS float64    `json:"duration_s"`
	Segments  []Segment  `json:"segments"`
	Files     []File     `json:"files"`
	// Participants are the identities seen during the recording, if known.
	Participants []string `json:"participants,omitempty"`
	// TrackFiles are the raw per-participant track recordings, when Tracks.
	TrackFiles []TrackFile `json:"track_files,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// TrackFile is one participant track recorded as received (Matroska) with
// its timing sidecar.
type TrackFile struct {
	Index       int    `json:"index"` // 1-based, unique within the recording
	Name        string `json:"name"`  // tracks/{participant}-{track}.mkv
	Participant string `json:"participant"`
	TrackID     string `json:"track_id"`
	Kind        string `json:"kind"`
	MimeType    string `json:"mime_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Closed      bool   `json:"closed"`
	Uploaded    bool   `json:"uploaded"`
}

// TrackFile returns the track file with the given index, or nil.
func (r *Recording) TrackFile(index int) *TrackFile {
	for i := range r.TrackFiles {
		if r.TrackFiles[i].Index == index {
			return &r.TrackFiles[i]
		}
	}
	return nil
}

// TracksUploaded reports whether every track file is in the object store.
func (r *Recording) TracksUploaded() bool {
	for _, t := range r.TrackFiles {
		if !t.Uploaded {
			return false
		}
	}
	return true
}

// Segment is one closed segment file of a recording.
type Segment struct {
	Index     int     `json:"index"`
	Name      string  `json:"name"`
	StartS    float64 `json:"start_s"`
	DurationS float64 `json:"duration_s"`
	Size      int64   `json:"size"`
	SHA256    string  `json:"sha256"`
	Uploaded  bool    `json:"uploaded"`
}

// File is a finished artefact of a recording in the object store.
type File struct {
	Name   string `json:"name"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Stopped reports whether recording has ended.
func (r *Recording) Stopped() bool { return r.StoppedAt != nil }

// Segment returns the segment with the given index, or nil.
func (r *Recording) Segment(index int) *Segment {
	for i := range r.Segments {
		if r.Segments[i].Index == index {
			return &r.Segments[i]
		}
	}
	return nil
}

// PutSegment adds the segment, or replaces the one with the same index,
// keeping segments ordered by index.
func (r *Recording) PutSegment(s Segment) {
	if old := r.Segment(s.Index); old != nil {
		*old = s
		return
	}
	r.Segments = append(r.Segments, s)
	for i := len(r.Segments) - 1; i > 0 && r.Segments[i].Index < r.Segments[i-1].Index; i-- {
		r.Segments[i], r.Segments[i-1] = r.Segments[i-1], r.Segments[i]
	}
}

// AllUploaded reports whether every known segment is in the object store.
func (r *Recording) AllUploaded() bool {
	for _, s := range r.Segments {
		if !s.Uploaded {
			return false
		}
	}
	return true
}

// ReadyToFinalize reports whether the recording has stopped, has segments,
// all of them (and its track files) uploaded, and has not been finalized yet.
func (r *Recording) ReadyToFinalize() bool {
	return r.Stopped() && len(r.Segments) > 0 && r.AllUploaded() && r.TracksUploaded() &&
		r.State != StateReady && r.State != StateFailed
}

var (
	idPattern   = regexp.MustCompile(`^rec_[a-z0-9]{16,40}$`)
	roomPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ValidID reports whether id has the form made by NewID: "rec_" and 16 to
// 40 lowercase letters or digits. Nothing else is accepted, so an ID is
// always safe in a path, an object key or a Redis key.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// ValidRoom reports whether room is a usable room name: 1 to 128 letters,
// digits, '.', '_' or '-', starting with a letter or digit, and not "..".
func ValidRoom(room string) bool {
	return roomPattern.MatchString(room) && !strings.Contains(room, "..")
}

func (r *Recording) validate() error {
	if !ValidID(r.ID) {
		return fmt.Errorf("%w: %q", ErrBadID, r.ID)
	}
	if !ValidRoom(r.Room) {
		return fmt.Errorf("%w: room %q", ErrInvalid, r.Room)
	}
	if !r.State.Valid() {
		return fmt.Errorf("%w: state %q", ErrInvalid, r.State)
	}
	if r.StartedAt.IsZero() {
		return fmt.Errorf("%w: started_at is zero", ErrInvalid)
	}
	for _, c := range r.Node {
		if unicode.IsControl(c) {
			return fmt.Errorf("%w: node %q", ErrInvalid, r.Node)
		}
	}
	seen := map[int]bool{}
	for _, s := range r.Segments {
		if s.Index < 1 || seen[s.Index] {
			return fmt.Errorf("%w: segment index %d", ErrInvalid, s.Index)
		}
		seen[s.Index] = true
	}
	return nil
}
