package recorder

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"
)

// box is one ISO-BMFF box: its type, where it starts and its total size.
type box struct {
	Type string
	Off  int64
	Size int64
	Hdr  int64 // header length (8 or 16)
}

func (b box) end() int64 { return b.Off + b.Size }

// mp4Info is what a segment file holds, read from its top-level boxes.
type mp4Info struct {
	Boxes     []box // complete top-level boxes, in file order
	Size      int64 // file size
	Fragments int   // complete moof+mdat pairs
	// ValidEnd is the end of the last complete box that belongs to a
	// complete fragment (or the moov): anything after it is a torn write.
	ValidEnd int64
	Duration time.Duration // longest track, from moov durations or fragments
	// VideoDuration is the video track's: segments split at video
	// keyframes, so it is where the next segment starts.
	VideoDuration time.Duration
	Video         bool // has a video track
	Audio         bool // has an audio track
}

// readBoxes lists the complete boxes in [off, end) of r.
func readBoxes(r io.ReaderAt, off, end int64) ([]box, error) {
	var out []box
	var hdr [16]byte
	for off+8 <= end {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return out, fmt.Errorf("%w: read box header at %d: %w", ErrNotMP4, off, err)
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		b := box{Type: string(hdr[4:8]), Off: off, Hdr: 8}
		switch size {
		case 0:
			size = end - off
		case 1:
			if off+16 > end {
				return out, nil
			}
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return out, fmt.Errorf("%w: read box size at %d: %w", ErrNotMP4, off, err)
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
			b.Hdr = 16
		}
		if size < b.Hdr {
			return out, fmt.Errorf("%w: box %q at %d has size %d", ErrNotMP4, b.Type, off, size)
		}
		if off+size > end {
			return out, nil // torn: the box was not completely written
		}
		b.Size = size
		out = append(out, b)
		off += size
	}
	return out, nil
}

// inspectMP4 reads a (fragmented) MP4's top-level structure and duration.
func inspectMP4(path string) (mp4Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return mp4Info{}, fmt.Errorf("recorder: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return mp4Info{}, fmt.Errorf("recorder: %w", err)
	}
	info := mp4Info{Size: st.Size()}
	if info.Boxes, err = readBoxes(f, 0, info.Size); err != nil {
		return info, err
	}
	if len(info.Boxes) == 0 || info.Boxes[0].Type != "ftyp" {
		return info, fmt.Errorf("%w: %s does not start with ftyp", ErrNotMP4, path)
	}
	var moov *box
	var pending *box // a moof waiting for its mdat
	tracks := map[uint32]*trackTime{}
	for i := range info.Boxes {
		b := &info.Boxes[i]
		switch b.Type {
		case "moov":
			moov = b
			info.ValidEnd = b.end()
			if err := readMoov(f, *b, tracks); err != nil {
				return info, err
			}
		case "moof":
			pending = b
		case "mdat":
			if pending != nil && moov != nil {
				if err := readMoof(f, *pending, tracks); err != nil {
					return info, err
				}
				info.Fragments++
				info.ValidEnd = b.end()
				pending = nil
			} else if moov != nil && info.Fragments == 0 {
				info.ValidEnd = b.end() // a plain (not fragmented) mp4
			}
		default:
			if pending == nil && moov != nil {
				info.ValidEnd = b.end() // mfra, free, …
			}
		}
	}
	if moov == nil {
		return info, fmt.Errorf("%w: %s has no moov", ErrNotMP4, path)
	}
	for _, t := range tracks {
		info.Video = info.Video || t.handler == "vide"
		info.Audio = info.Audio || t.handler == "soun"
		if t.scale == 0 {
			continue
		}
		end := t.fragEnd
		if t.moovDur > end {
			end = t.moovDur
		}
		d := time.Duration(float64(end) / float64(t.scale) * float64(time.Second))
		info.Duration = max(info.Duration, d)
		if t.handler == "vide" {
			info.VideoDuration = max(info.VideoDuration, d)
		}
	}
	return info, nil
}
