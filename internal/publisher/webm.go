package publisher

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// EBML element IDs the reader acts on (with their length markers).
const (
	idEBML        = 0x1A45DFA3
	idSegment     = 0x18538067
	idInfo        = 0x1549A966
	idTracks      = 0x1654AE6B
	idCluster     = 0x1F43B675
	idTimecode    = 0xE7
	idBlockGroup  = 0xA0
	idBlock       = 0xA1
	idSimpleBlock = 0xA3
)

// codecIDH264 is the Matroska codec ID of H.264 (length-prefixed NAL units).
const codecIDH264 = "V_MPEG4/ISO/AVC"

const (
	maxHeaderElement = 1 << 20  // Info, Tracks, EBML header
	maxBlock         = 16 << 20 // one block
	unknownSize      = -1
)

// webmTrack is a track of the file this publisher can send.
type webmTrack struct {
	number uint64
	video  bool
	codec  string     // Matroska codec ID: V_VP8, V_MPEG4/ISO/AVC or A_OPUS
	avc    *avcConfig // H.264 only
}

// webmReader streams frames out of a WebM file without loading it whole.
// Frames come out with their duration known (the distance to the next frame
// of the same track), so the order is by track, roughly by time: the pacer
// sorts them again.
type webmReader struct {
	file     *os.File
	r        *bufio.Reader
	scale    time.Duration // one timecode tick
	tracks   map[uint64]webmTrack
	video    *webmTrack
	audio    *webmTrack
	duration time.Duration // from Info, 0 if unknown
	cluster  time.Duration // current cluster's timecode
	pending  map[uint64]*frame
	lastDur  map[uint64]time.Duration
	ready    []frame
	eof      bool
}

// openWebM reads the header and the track list of a WebM file.
func openWebM(path string) (*webmReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w := &webmReader{
		file:    f,
		r:       bufio.NewReaderSize(f, 256<<10),
		scale:   time.Millisecond,
		pending: map[uint64]*frame{},
		lastDur: map[uint64]time.Duration{},
	}
	if err := w.readHeader(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

func (w *webmReader) Close() error { return w.file.Close() }

// readHeader consumes elements up to and including Tracks.
func (w *webmReader) readHeader() error {
	id, size, err := w.element()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadWebM, err)
	}
	if id != idEBML {
		return fmt.Errorf("%w: not an EBML file", ErrBadWebM)
	}
	var hdr struct {
		Header webm.EBMLHeader `ebml:"EBML"`
	}
	if err := w.unmarshal(id, size, &hdr); err != nil {
		return err
	}
	if hdr.Header.DocType != "webm" && hdr.Header.DocType != "matroska" {
		return fmt.Errorf("%w: doc type %q", ErrBadWebM, hdr.Header.DocType)
	}
	for w.tracks == nil {
		id, size, err := w.element()
		if err != nil {
			return fmt.Errorf("%w: no tracks: %w", ErrBadWebM, err)
		}
		switch id {
		case idSegment:
			// descend
		case idInfo:
			var v struct {
				Info webm.Info `ebml:"Info"`
			}
			if err := w.unmarshal(id, size, &v); err != nil {
				return err
			}
			if v.Info.TimecodeScale > 0 {
				w.scale = time.Duration(v.Info.TimecodeScale)
			}
			w.duration = time.Duration(v.Info.Duration * float64(w.scale))
		case idTracks:
			var v struct {
				Tracks webm.Tracks `ebml:"Tracks"`
			}
			if err := w.unmarshal(id, size, &v); err != nil {
				return err
			}
			if err := w.setTracks(v.Tracks.TrackEntry); err != nil {
				return err
			}
		case idCluster:
			return fmt.Errorf("%w: cluster before tracks", ErrBadWebM)
		default:
			if err := w.skip(size); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *webmReader) setTracks(entries []webm.TrackEntry) error {
	w.tracks = map[uint64]webmTrack{}
	for _, e := range entries {
		t := webmTrack{number: e.TrackNumber, codec: e.CodecID}
		switch {
		case e.CodecID == "V_VP8" && w.video == nil:
			t.video = true
			w.video = &t
		case e.CodecID == codecIDH264 && w.video == nil:
			avc, err := parseAVCConfig(e.CodecPrivate)
			if err != nil {
				return fmt.Errorf("track %d: %w", e.TrackNumber, err)
			}
			t.video, t.avc = true, avc
			w.video = &t
		case e.CodecID == "A_OPUS" && w.audio == nil:
			w.audio = &t
		default:
			continue // other codecs and extra tracks are ignored
		}
		w.tracks[t.number] = t
	}
	if len(w.tracks) == 0 {
		return fmt.Errorf("%w: no VP8 or H.264 video and no Opus audio track", ErrBadWebM)
	}
	return nil
}

// next returns the next frame, or io.EOF after the last one.
func (w *webmReader) next() (frame, error) {
	for len(w.ready) == 0 {
		if w.eof {
			return frame{}, io.EOF
		}
		if err := w.step(); err != nil {
			if !errors.Is(err, io.EOF) {
				return frame{}, err
			}
			w.eof = true
			w.flush()
		}
	}
	f := w.ready[0]
	w.ready = w.ready[1:]
	return f, nil
}

// step reads one element of the segment body.
func (w *webmReader) step() error {
	id, size, err := w.element()
	if err != nil {
		return err
	}
	switch id {
	case idSegment, idCluster, idBlockGroup:
		return nil // descend into masters
	case idTimecode:
		v, err := w.uint(size)
		if err != nil {
			return err
		}
		w.cluster = time.Duration(v) * w.scale
		return nil
	case idSimpleBlock, idBlock:
		if size == unknownSize || size > maxBlock {
			return fmt.Errorf("%w: block of %d bytes", ErrBadWebM, size)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(w.r, buf); err != nil {
			return fmt.Errorf("%w: truncated block: %w", ErrBadWebM, err)
		}
		b, err := ebml.UnmarshalBlock(bytes.NewReader(buf), size)
		if err != nil {
			return fmt.Errorf("%w: block: %w", ErrBadWebM, err)
		}
		return w.addBlock(b)
	default:
		return w.skip(size)
	}
}

func (w *webmReader) addBlock(b *ebml.Block) error {
	t, ok := w.tracks[b.TrackNumber]
	if !ok {
		return nil
	}
	pts := w.cluster + time.Duration(b.Timecode)*w.scale
	for i, data := range b.Data {
		f := &frame{video: t.video, data: data, pts: pts}
		switch {
		case t.avc != nil:
			var err error
			if f.data, f.keyframe, err = t.avc.annexB(data); err != nil {
				return err
			}
		case t.video:
			f.keyframe = vp8Keyframe(data)
		case i > 0:
			// laced audio: place each packet after the previous by its length
			if prev := w.pending[t.number]; prev != nil {
				f.pts = prev.pts + opusDuration(prev.data)
			}
		}
		if err := w.push(t.number, f); err != nil {
			return err
		}
	}
	return nil
}

// push completes the track's previous frame with its duration and queues it.
func (w *webmReader) push(track uint64, f *frame) error {
	if prev := w.pending[track]; prev != nil {
		if f.video && f.pts < prev.pts {
			return fmt.Errorf("%w: video frames out of presentation order at %v (B-frames are not supported)", ErrBadWebM, f.pts)
		}
		d := max(f.pts-prev.pts, 0)
		prev.duration = d
		w.lastDur[track] = d
		w.ready = append(w.ready, *prev)
	}
	w.pending[track] = f
	return nil
}

// flush queues the last frame of every track at the end of the file.
func (w *webmReader) flush() {
	for n, f := range w.pending {
		f.duration = w.lastDur[n]
		if f.duration == 0 {
			f.duration = 20 * time.Millisecond
			if f.video {
				f.duration = 33 * time.Millisecond
			}
		}
		w.ready = append(w.ready, *f)
		delete(w.pending, n)
	}
}

// element reads an element header: its ID and its size (unknownSize if unknown).
func (w *webmReader) element() (uint64, int64, error) {
	id, _, err := w.vint(4, true)
	if err != nil {
		return 0, 0, err
	}
	size, unknown, err := w.vint(8, false)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: element %x size: %w", ErrBadWebM, id, noEOF(err))
	}
	if unknown {
		return id, unknownSize, nil
	}
	if size > 1<<40 {
		return 0, 0, fmt.Errorf("%w: element %x of %d bytes", ErrBadWebM, id, size)
	}
	return id, int64(size), nil
}

// vint reads an EBML variable-length integer; keepMarker is for IDs.
func (w *webmReader) vint(maxLen int, keepMarker bool) (v uint64, allOnes bool, err error) {
	first, err := w.r.ReadByte()
	if err != nil {
		return 0, false, err
	}
	n := 1
	for mask := byte(0x80); n <= 8 && first&mask == 0; mask >>= 1 {
		n++
	}
	if n > maxLen {
		return 0, false, fmt.Errorf("%w: bad variable-length integer %#x", ErrBadWebM, first)
	}
	v = uint64(first)
	if !keepMarker {
		v &= uint64(0xFF >> n)
	}
	allOnes = v == uint64(0xFF>>n)
	for i := 1; i < n; i++ {
		b, err := w.r.ReadByte()
		if err != nil {
			return 0, false, fmt.Errorf("%w: truncated integer: %w", ErrBadWebM, noEOF(err))
		}
		v = v<<8 | uint64(b)
		allOnes = allOnes && b == 0xFF
	}
	return v, allOnes && !keepMarker, nil
}

func (w *webmReader) uint(size int64) (uint64, error) {
	if size < 0 || size > 8 {
		return 0, fmt.Errorf("%w: integer of %d bytes", ErrBadWebM, size)
	}
	var v uint64
	for range size {
		b, err := w.r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated integer: %w", ErrBadWebM, noEOF(err))
		}
		v = v<<8 | uint64(b)
	}
	return v, nil
}

func (w *webmReader) skip(size int64) error {
	if size == unknownSize {
		return fmt.Errorf("%w: unknown-size element", ErrBadWebM)
	}
	if _, err := w.r.Discard(int(size)); err != nil {
		return fmt.Errorf("%w: truncated element: %w", ErrBadWebM, noEOF(err))
	}
	return nil
}

// unmarshal decodes one header element (id, size already read) into v.
func (w *webmReader) unmarshal(id uint64, size int64, v any) error {
	if size == unknownSize || size > maxHeaderElement {
		return fmt.Errorf("%w: element %x of %d bytes", ErrBadWebM, id, size)
	}
	var buf bytes.Buffer
	writeVint(&buf, id, true)
	writeVint(&buf, uint64(size), false)
	if _, err := io.CopyN(&buf, w.r, size); err != nil {
		return fmt.Errorf("%w: truncated element %x: %w", ErrBadWebM, id, noEOF(err))
	}
	if err := ebml.Unmarshal(&buf, v, ebml.WithIgnoreUnknown(true)); err != nil {
		return fmt.Errorf("%w: element %x: %w", ErrBadWebM, id, err)
	}
	return nil
}

// writeVint writes an ID (marker included in v) or an 8-byte size.
func writeVint(buf *bytes.Buffer, v uint64, isID bool) {
	if isID {
		n := 1
		for ; v>>(8*n) != 0; n++ {
		}
		for i := n - 1; i >= 0; i-- {
			buf.WriteByte(byte(v >> (8 * i)))
		}
		return
	}
	buf.WriteByte(0x01)
	for i := 6; i >= 0; i-- {
		buf.WriteByte(byte(v >> (8 * i)))
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// vp8Keyframe reports whether a VP8 frame is a key frame (RFC 6386 9.1).
func vp8Keyframe(b []byte) bool { return len(b) > 0 && b[0]&0x01 == 0 }

// opusDuration is the length of an Opus packet from its TOC (RFC 6716 3.1).
func opusDuration(p []byte) time.Duration {
	if len(p) == 0 {
		return 0
	}
	cfg := p[0] >> 3
	var frame time.Duration
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[cfg%4] * time.Millisecond
	case cfg < 16: // hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[cfg%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[cfg%4] * time.Microsecond
	}
	switch p[0] & 0x03 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	default:
		if len(p) < 2 {
			return frame
		}
		return time.Duration(p[1]&0x3F) * frame
	}
}
