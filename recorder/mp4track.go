package recorder

import (
	"encoding/binary"
	"fmt"
	"io"
)

// trackTime accumulates one track's timing from moov and fragments.
type trackTime struct {
	scale      uint32
	moovDur    uint64 // mdhd duration (finalized files)
	defaultDur uint32 // trex default_sample_duration
	fragEnd    uint64 // end of the last fragment's samples, in track units
	handler    string // hdlr handler type: "vide", "soun", …
}

func readPayload(r io.ReaderAt, b box) ([]byte, error) {
	if b.Size > 64<<20 {
		return nil, fmt.Errorf("%w: %s box of %d bytes", ErrNotMP4, b.Type, b.Size)
	}
	p := make([]byte, b.Size-b.Hdr)
	if _, err := r.ReadAt(p, b.Off+b.Hdr); err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrNotMP4, b.Type, err)
	}
	return p, nil
}

// children lists the boxes inside a payload held in memory.
func children(p []byte) []box {
	boxes, _ := readBoxes(bytesReaderAt(p), 0, int64(len(p)))
	return boxes
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func body(p []byte, b box) []byte { return p[b.Off+b.Hdr : b.end()] }

func find(p []byte, typ string) []byte {
	for _, c := range children(p) {
		if c.Type == typ {
			return body(p, c)
		}
	}
	return nil
}

// readMoov reads each trak's id, timescale and duration, and trex defaults.
func readMoov(r io.ReaderAt, moov box, tracks map[uint32]*trackTime) error {
	p, err := readPayload(r, moov)
	if err != nil {
		return err
	}
	track := func(id uint32) *trackTime {
		if tracks[id] == nil {
			tracks[id] = &trackTime{}
		}
		return tracks[id]
	}
	for _, c := range children(p) {
		switch c.Type {
		case "trak":
			trak := body(p, c)
			tkhd := find(trak, "tkhd")
			mdhd := find(find(trak, "mdia"), "mdhd")
			if len(tkhd) < 24 || len(mdhd) < 24 {
				return fmt.Errorf("%w: short tkhd/mdhd", ErrNotMP4)
			}
			var id uint32
			if tkhd[0] == 1 {
				id = be32(tkhd, 20)
			} else {
				id = be32(tkhd, 12)
			}
			t := track(id)
			if hdlr := find(find(trak, "mdia"), "hdlr"); len(hdlr) >= 12 {
				t.handler = string(hdlr[8:12])
			}
			if mdhd[0] == 1 {
				if len(mdhd) < 36 {
					return fmt.Errorf("%w: short mdhd", ErrNotMP4)
				}
				t.scale, t.moovDur = be32(mdhd, 20), be64(mdhd, 24)
			} else {
				t.scale, t.moovDur = be32(mdhd, 12), uint64(be32(mdhd, 16))
			}
		case "mvex":
			for _, e := range children(body(p, c)) {
				if e.Type == "trex" {
					trex := body(body(p, c), e)
					if len(trex) >= 16 {
						track(be32(trex, 4)).defaultDur = be32(trex, 12)
					}
				}
			}
		}
	}
	return nil
}

// readMoof advances each track's end by the samples of one fragment.
func readMoof(r io.ReaderAt, moof box, tracks map[uint32]*trackTime) error {
	p, err := readPayload(r, moof)
	if err != nil {
		return err
	}
	for _, c := range children(p) {
		if c.Type != "traf" {
			continue
		}
		traf := body(p, c)
		tfhd := find(traf, "tfhd")
		if len(tfhd) < 8 {
			return fmt.Errorf("%w: short tfhd", ErrNotMP4)
		}
		t := tracks[be32(tfhd, 4)]
		if t == nil {
			continue
		}
		defDur := t.defaultDur
		flags := be32(tfhd, 0) & 0xffffff
		off := 8
		for _, f := range []struct {
			bit uint32
			n   int
		}{{0x01, 8}, {0x02, 4}, {0x08, 4}} {
			if flags&f.bit != 0 {
				if f.bit == 0x08 && len(tfhd) >= off+4 {
					defDur = be32(tfhd, off)
				}
				off += f.n
			}
		}
		start := t.fragEnd
		if tfdt := find(traf, "tfdt"); len(tfdt) >= 8 {
			if tfdt[0] == 1 && len(tfdt) >= 12 {
				start = be64(tfdt, 4)
			} else {
				start = uint64(be32(tfdt, 4))
			}
		}
		var sum uint64
		for _, tc := range children(traf) {
			if tc.Type == "trun" {
				sum += trunDuration(body(traf, tc), defDur)
			}
		}
		if end := start + sum; end > t.fragEnd {
			t.fragEnd = end
		}
	}
	return nil
}

func trunDuration(trun []byte, defDur uint32) uint64 {
	if len(trun) < 8 {
		return 0
	}
	flags := be32(trun, 0) & 0xffffff
	n := be32(trun, 4)
	off := 8
	if flags&0x01 != 0 {
		off += 4
	}
	if flags&0x04 != 0 {
		off += 4
	}
	if flags&0x100 == 0 {
		return uint64(n) * uint64(defDur)
	}
	per := 4
	for _, bit := range []uint32{0x200, 0x400, 0x800} {
		if flags&bit != 0 {
			per += 4
		}
	}
	var sum uint64
	for i := uint32(0); i < n && off+4 <= len(trun); i++ {
		sum += uint64(be32(trun, off))
		off += per
	}
	return sum
}

func be32(p []byte, off int) uint32 { return binary.BigEndian.Uint32(p[off:]) }
func be64(p []byte, off int) uint64 { return binary.BigEndian.Uint64(p[off:]) }
