package jobs

import "fmt"

// Object-store layout of a recording.
const (
	CompositeName = "composite.mp4"
	ThumbnailName = "thumbnail.jpg"
	ManifestName  = "manifest.json"
)

// RecordingPrefix is the key prefix under which a recording's objects live:
// recordings/{room}/{recording-id}/.
func RecordingPrefix(room, id string) string {
	return fmt.Sprintf("recordings/%s/%s/", room, id)
}

// SegmentName is the file name of segment index (1-based): seg-00001.mp4.
func SegmentName(index int) string { return fmt.Sprintf("seg-%05d.mp4", index) }

// SegmentKey is the object key of segment index of a recording.
func SegmentKey(room, id string, index int) string {
	return RecordingPrefix(room, id) + SegmentName(index)
}

// FileKey is the object key of a recording's finished file (composite.mp4,
// thumbnail.jpg, manifest.json).
func FileKey(room, id, name string) string { return RecordingPrefix(room, id) + name }
