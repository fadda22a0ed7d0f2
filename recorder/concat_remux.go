package recorder

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// errRemux reports segments the direct remux does not handle (not
// fragmented, codec parameters changing between segments, …); Concat then
// joins them with GStreamer instead.
var errRemux = errors.New("recorder: segments need a full demux")

// Sample flags (ISO/IEC 14496-12 8.8.3.1).
const sampleNonSync = 0x00010000

// remuxTrack is one track of the joined file: the first segment's
// description and every segment's samples, in play order.
type remuxTrack struct {
	id      uint32
	handler string
	scale   uint32
	tkhd    []byte // payload of the first segment's tkhd
	mdhd    []byte // payload of its mdhd
	hdlr    []byte // whole hdlr box
	mhd     []byte // whole vmhd/smhd/nmhd box
	dinf    []byte // whole dinf box (nil: a self-contained one is written)
	stsd    []byte // whole stsd box: must be the same in every segment
	trex    trex

	durs    []uint32
	sizes   []uint32
	ctos    []int32
	nonSync []bool
	chunks  []remuxChunk
	total   uint64 // summed sample durations
}

type trex struct{ dur, size, flags uint32 }

// remuxChunk is one run of a track's samples stored contiguously in a
// segment file; out is its offset in the joined file.
type remuxChunk struct {
	seg     int
	off     int64
	size    int64
	samples int
	out     int64
}

// remuxRange is a byte range of a segment copied into the joined mdat.
type remuxRange struct {
	seg      int
	off, len int64
	out      int64 // offset of the range in the joined file
}

// remux is the plan for joining fragmented segments into one file.
type remux struct {
	movieScale uint32
	mvhd       []byte // payload of the first segment's mvhd
	tracks     []*remuxTrack
	ranges     []remuxRange
}

// planRemux reads the segments' moov and moof boxes (not their media) and
// lays out the joined file's samples.
func planRemux(segments []string) (*remux, error) {
	r := &remux{}
	for i, path := range segments {
		if err := r.addSegment(i, path); err != nil {
			return nil, err
		}
	}
	for _, t := range r.tracks {
		if len(t.durs) == 0 {
			return nil, fmt.Errorf("%w: track %d has no samples", errRemux, t.id)
		}
	}
	return r, nil
}

func (r *remux) addSegment(index int, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoInput, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoInput, err)
	}
	boxes, err := readBoxes(f, 0, st.Size())
	if err != nil {
		return err
	}
	if len(boxes) == 0 || boxes[0].Type != "ftyp" {
		return fmt.Errorf("%w: %s does not start with ftyp", ErrNotMP4, path)
	}
	var byID map[uint32]*remuxTrack
	var moof *box
	for i := range boxes {
		b := boxes[i]
		switch b.Type {
		case "moov":
			if byID != nil {
				return fmt.Errorf("%w: %s has two moov boxes", errRemux, path)
			}
			p, err := readPayload(f, b)
			if err != nil {
				return err
			}
			if byID, err = r.matchMoov(index, p); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		case "moof":
			moof = &boxes[i]
		case "mdat":
			if moof == nil || byID == nil {
				continue // no fragment: nothing of it is played
			}
			p, err := readPayload(f, *moof)
			if err != nil {
				return err
			}
			if err := r.addFragment(index, *moof, p, b, byID); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			moof = nil
		}
	}
	if byID == nil {
		return fmt.Errorf("%w: %s has no moov", ErrNotMP4, path)
	}
	return nil
}

// matchMoov reads a segment's moov: the first one defines the tracks, the
// others must describe the same tracks with the same sample descriptions.
func (r *remux) matchMoov(index int, moov []byte) (map[uint32]*remuxTrack, error) {
	byID := map[uint32]*remuxTrack{}
	var found []*remuxTrack
	trexs := map[uint32]trex{}
	for _, c := range children(moov) {
		switch c.Type {
		case "mvhd":
			if index == 0 {
				mvhd := body(moov, c)
				if len(mvhd) < 20 {
					return nil, fmt.Errorf("%w: short mvhd", ErrNotMP4)
				}
				r.mvhd = mvhd
				if mvhd[0] == 1 {
					if len(mvhd) < 32 {
						return nil, fmt.Errorf("%w: short mvhd", ErrNotMP4)
					}
					r.movieScale = be32(mvhd, 20)
				} else {
					r.movieScale = be32(mvhd, 12)
				}
			}
		case "trak":
			t, err := parseTrak(body(moov, c))
			if err != nil {
				return nil, err
			}
			if t != nil {
				found = append(found, t)
			}
		case "mvex":
			mvex := body(moov, c)
			for _, e := range children(mvex) {
				if e.Type == "trex" {
					if p := body(mvex, e); len(p) >= 24 {
						trexs[be32(p, 4)] = trex{dur: be32(p, 12), size: be32(p, 16), flags: be32(p, 20)}
					}
				}
			}
		}
	}
	for _, t := range found {
		t.trex = trexs[t.id]
	}
	if index == 0 {
		if r.movieScale == 0 || len(found) == 0 {
			return nil, fmt.Errorf("%w: no audio or video track", errRemux)
		}
		r.tracks = found
		for _, t := range found {
			byID[t.id] = t
		}
		return byID, nil
	}
	if len(found) != len(r.tracks) {
		return nil, fmt.Errorf("%w: %d tracks, the first segment has %d", errRemux, len(found), len(r.tracks))
	}
	for i, t := range found {
		want := r.tracks[i]
		if t.handler != want.handler || t.scale != want.scale || !bytes.Equal(codecKey(t.stsd), codecKey(want.stsd)) {
			return nil, fmt.Errorf("%w: %s track differs from the first segment's", errRemux, t.handler)
		}
		want.trex = t.trex
		byID[t.id] = want
	}
	return byID, nil
}

// parseTrak returns the description of an audio or video trak (nil for
// other kinds). A trak that already holds samples is not a fragment's.
func parseTrak(trak []byte) (*remuxTrack, error) {
	t := &remuxTrack{}
	var mdia, minf, stbl []byte
	for _, c := range children(trak) {
		switch c.Type {
		case "tkhd":
			t.tkhd = body(trak, c)
		case "mdia":
			mdia = body(trak, c)
		case "edts":
			if !identityEdits(body(trak, c)) {
				return nil, fmt.Errorf("%w: an edit list shifts or cuts the track", errRemux)
			}
		}
	}
	for _, c := range children(mdia) {
		switch c.Type {
		case "mdhd":
			t.mdhd = body(mdia, c)
		case "hdlr":
			t.hdlr = mdia[c.Off:c.end()]
			if p := body(mdia, c); len(p) >= 12 {
				t.handler = string(p[8:12])
			}
		case "minf":
			minf = body(mdia, c)
		}
	}
	if t.handler != "vide" && t.handler != "soun" {
		return nil, nil
	}
	if len(t.tkhd) < 84 || len(t.mdhd) < 24 || minf == nil {
		return nil, fmt.Errorf("%w: incomplete %s trak", ErrNotMP4, t.handler)
	}
	if t.tkhd[0] == 1 {
		if len(t.tkhd) < 96 {
			return nil, fmt.Errorf("%w: short tkhd", ErrNotMP4)
		}
		t.id = be32(t.tkhd, 20)
	} else {
		t.id = be32(t.tkhd, 12)
	}
	if t.mdhd[0] == 1 {
		if len(t.mdhd) < 36 {
			return nil, fmt.Errorf("%w: short mdhd", ErrNotMP4)
		}
		t.scale = be32(t.mdhd, 20)
	} else {
		t.scale = be32(t.mdhd, 12)
	}
	for _, c := range children(minf) {
		switch c.Type {
		case "vmhd", "smhd", "nmhd":
			t.mhd = minf[c.Off:c.end()]
		case "dinf":
			t.dinf = minf[c.Off:c.end()]
		case "stbl":
			stbl = body(minf, c)
		}
	}
	for _, c := range children(stbl) {
		switch c.Type {
		case "stsd":
			t.stsd = stbl[c.Off:c.end()]
		case "stsz", "stz2":
			if p := body(stbl, c); len(p) >= 12 && be32(p, 8) != 0 {
				return nil, fmt.Errorf("%w: the moov holds samples", errRemux)
			}
		}
	}
	if t.stsd == nil || t.scale == 0 || t.mhd == nil {
		return nil, fmt.Errorf("%w: incomplete %s trak", ErrNotMP4, t.handler)
	}
	return t, nil
}

// addFragment adds the samples of one moof whose data is in the mdat that
// follows it.
func (r *remux) addFragment(seg int, moof box, p []byte, mdat box, byID map[uint32]*remuxTrack) error {
	dataStart, dataEnd := mdat.Off+mdat.Hdr, mdat.end()
	next := moof.Off // where the previous traf's data ended
	var ranges []remuxRange
	for _, c := range children(p) {
		if c.Type != "traf" {
			continue
		}
		traf := body(p, c)
		tfhd := find(traf, "tfhd")
		if len(tfhd) < 8 {
			return fmt.Errorf("%w: short tfhd", ErrNotMP4)
		}
		flags := be32(tfhd, 0) & 0xffffff
		t := byID[be32(tfhd, 4)]
		def := trex{}
		if t != nil {
			def = t.trex
		}
		base := next
		if flags&0x020000 != 0 {
			base = moof.Off
		}
		off := 8
		field := func(bit uint32, n int) (uint64, bool, error) {
			if flags&bit == 0 {
				return 0, false, nil
			}
			if len(tfhd) < off+n {
				return 0, false, fmt.Errorf("%w: short tfhd", ErrNotMP4)
			}
			var v uint64
			if n == 8 {
				v = be64(tfhd, off)
			} else {
				v = uint64(be32(tfhd, off))
			}
			off += n
			return v, true, nil
		}
		if v, ok, err := field(0x01, 8); err != nil {
			return err
		} else if ok {
			base = int64(v)
		}
		if _, _, err := field(0x02, 4); err != nil {
			return err
		}
		for _, d := range []struct {
			bit uint32
			dst *uint32
		}{{0x08, &def.dur}, {0x10, &def.size}, {0x20, &def.flags}} {
			v, ok, err := field(d.bit, 4)
			if err != nil {
				return err
			}
			if ok {
				*d.dst = uint32(v)
			}
		}
		pos := base
		for _, tc := range children(traf) {
			if tc.Type != "trun" {
				continue
			}
			start, size, err := addTrun(t, seg, body(traf, tc), base, pos, def)
			if err != nil {
				return err
			}
			if size > 0 {
				if start < dataStart || start+size > dataEnd {
					return fmt.Errorf("%w: samples at %d+%d outside their mdat", ErrNotMP4, start, size)
				}
				if t != nil {
					ranges = append(ranges, remuxRange{seg: seg, off: start, len: size})
				}
			}
			pos = start + size
		}
		next = pos
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].off < ranges[j].off })
	for _, rg := range ranges {
		if n := len(r.ranges); n > 0 && r.ranges[n-1].seg == seg && r.ranges[n-1].off+r.ranges[n-1].len == rg.off {
			r.ranges[n-1].len += rg.len
			continue
		} else if n > 0 && r.ranges[n-1].seg == seg && rg.off < r.ranges[n-1].off+r.ranges[n-1].len {
			return fmt.Errorf("%w: overlapping sample data at %d", ErrNotMP4, rg.off)
		}
		r.ranges = append(r.ranges, rg)
	}
	return nil
}

// addTrun appends one trun's samples to t (when t is a track of the join)
// and returns where its data lies in the segment.
func addTrun(t *remuxTrack, seg int, trun []byte, base, pos int64, def trex) (int64, int64, error) {
	if len(trun) < 8 {
		return 0, 0, fmt.Errorf("%w: short trun", ErrNotMP4)
	}
	version := trun[0]
	flags := be32(trun, 0) & 0xffffff
	n := int(be32(trun, 4))
	off := 8
	start := pos
	if flags&0x01 != 0 {
		if len(trun) < off+4 {
			return 0, 0, fmt.Errorf("%w: short trun", ErrNotMP4)
		}
		start = base + int64(int32(be32(trun, off)))
		off += 4
	}
	firstFlags, hasFirst := uint32(0), false
	if flags&0x04 != 0 {
		if len(trun) < off+4 {
			return 0, 0, fmt.Errorf("%w: short trun", ErrNotMP4)
		}
		firstFlags, hasFirst = be32(trun, off), true
		off += 4
	}
	per := 0
	for _, bit := range []uint32{0x100, 0x200, 0x400, 0x800} {
		if flags&bit != 0 {
			per += 4
		}
	}
	if n < 0 || len(trun) < off+n*per {
		return 0, 0, fmt.Errorf("%w: trun of %d samples is short", ErrNotMP4, n)
	}
	var size int64
	for i := 0; i < n; i++ {
		dur, sz, sf, cto := def.dur, def.size, def.flags, int32(0)
		if i == 0 && hasFirst {
			sf = firstFlags
		}
		if flags&0x100 != 0 {
			dur = be32(trun, off)
			off += 4
		}
		if flags&0x200 != 0 {
			sz = be32(trun, off)
			off += 4
		}
		if flags&0x400 != 0 {
			sf = be32(trun, off)
			off += 4
		}
		if flags&0x800 != 0 {
			v := be32(trun, off)
			off += 4
			if version == 0 && v > 1<<31-1 {
				return 0, 0, fmt.Errorf("%w: composition offset %d", errRemux, v)
			}
			cto = int32(v)
		}
		size += int64(sz)
		if t != nil {
			t.durs = append(t.durs, dur)
			t.sizes = append(t.sizes, sz)
			t.ctos = append(t.ctos, cto)
			t.nonSync = append(t.nonSync, sf&sampleNonSync != 0)
			t.total += uint64(dur)
		}
	}
	if t != nil && n > 0 {
		t.chunks = append(t.chunks, remuxChunk{seg: seg, off: start, size: size, samples: n})
	}
	return start, size, nil
}

// layout places the copied ranges after the header and gives every chunk
// its offset in the joined file. It returns the header (ftyp, moov and the
// mdat box header) and the total size.
func (r *remux) layout() ([]byte, int64, error) {
	var payload int64
	for _, rg := range r.ranges {
		payload += rg.len
	}
	ftyp := ftypBox()
	// The moov's size does not depend on the chunk offsets, only on their
	// width: build it once to learn the size, then with the offsets.
	co64 := false
	mdatHdr := int64(8)
	if payload+8 > 1<<32-1 {
		mdatHdr = 16
	}
	moov := r.moov(co64)
	if int64(len(ftyp)+len(moov))+mdatHdr+payload > 1<<32-1 {
		co64 = true
		moov = r.moov(co64)
	}
	start := int64(len(ftyp)+len(moov)) + mdatHdr
	pos := start
	for i := range r.ranges {
		r.ranges[i].out = pos
		pos += r.ranges[i].len
	}
	for _, t := range r.tracks {
		k := 0
		for i := range t.chunks {
			c := &t.chunks[i]
			for k < len(r.ranges) && (r.ranges[k].seg < c.seg || (r.ranges[k].seg == c.seg && r.ranges[k].off+r.ranges[k].len <= c.off)) {
				k++
			}
			if k == len(r.ranges) || r.ranges[k].seg != c.seg || c.off < r.ranges[k].off || c.off+c.size > r.ranges[k].off+r.ranges[k].len {
				return nil, 0, fmt.Errorf("%w: chunk of track %d at %d out of order", errRemux, t.id, c.off)
			}
			c.out = r.ranges[k].out + c.off - r.ranges[k].off
		}
	}
	moov = r.moov(co64)
	hdr := make([]byte, 0, len(ftyp)+len(moov)+int(mdatHdr))
	hdr = append(hdr, ftyp...)
	hdr = append(hdr, moov...)
	if mdatHdr == 16 {
		hdr = binary.BigEndian.AppendUint32(hdr, 1)
		hdr = append(hdr, "mdat"...)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(payload+16))
	} else {
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(payload+8))
		hdr = append(hdr, "mdat"...)
	}
	return hdr, start + payload, nil
}

// write copies the joined file to w: header, then the sample data of every
// segment in order.
func (r *remux) write(ctx context.Context, w io.Writer, hdr []byte, segments []string) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	var f *os.File
	cur := -1
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for _, rg := range r.ranges {
		if rg.seg != cur {
			if err := ctx.Err(); err != nil {
				return err
			}
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = os.Open(segments[rg.seg]); err != nil {
				return fmt.Errorf("%w: %w", ErrNoInput, err)
			}
			cur = rg.seg
		}
		if _, err := f.Seek(rg.off, io.SeekStart); err != nil {
			return err
		}
		n, err := io.Copy(w, io.LimitReader(f, rg.len))
		if err != nil {
			return err
		}
		if n != rg.len {
			return fmt.Errorf("%w: %s shrank while being joined", ErrNoInput, segments[rg.seg])
		}
	}
	return nil
}

// boxWriter builds boxes in memory.
type boxWriter struct{ b []byte }

func (w *boxWriter) box(typ string, fill func()) {
	at := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	w.b = append(w.b, typ...)
	fill()
	binary.BigEndian.PutUint32(w.b[at:], uint32(len(w.b)-at))
}

func (w *boxWriter) full(typ string, version byte, flags uint32, fill func()) {
	w.box(typ, func() {
		w.u32(uint32(version)<<24 | flags&0xffffff)
		fill()
	})
}

func (w *boxWriter) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *boxWriter) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *boxWriter) raw(p []byte) { w.b = append(w.b, p...) }
func scaleDur(d uint64, from, to uint32) uint64 {
	if from == 0 {
		return 0
	}
	return d * uint64(to) / uint64(from)
}

func ftypBox() []byte {
	w := &boxWriter{}
	w.box("ftyp", func() {
		w.raw([]byte("isom"))
		w.u32(0x200)
		w.raw([]byte("isomiso2avc1mp41"))
	})
	return w.b
}

// moov builds the index of the joined file: version-1 headers carrying the
// summed durations, and full sample tables.
func (r *remux) moov(co64 bool) []byte {
	w := &boxWriter{}
	var movieDur uint64
	for _, t := range r.tracks {
		movieDur = max(movieDur, scaleDur(t.total, t.scale, r.movieScale))
	}
	w.box("moov", func() {
		// mvhd: times, scale, duration, then the first segment's rate,
		// volume, matrix and next track ID.
		rest := r.mvhd[20:]
		if r.mvhd[0] == 1 {
			rest = r.mvhd[32:]
		}
		w.full("mvhd", 1, 0, func() {
			w.u64(0)
			w.u64(0)
			w.u32(r.movieScale)
			w.u64(movieDur)
			w.raw(rest)
		})
		for _, t := range r.tracks {
			r.trak(w, t, co64)
		}
	})
	return w.b
}

func (r *remux) trak(w *boxWriter, t *remuxTrack, co64 bool) {
	w.box("trak", func() {
		rest := t.tkhd[24:]
		if t.tkhd[0] == 1 {
			rest = t.tkhd[36:]
		}
		w.full("tkhd", 1, be32(t.tkhd, 0)&0xffffff, func() {
			w.u64(0)
			w.u64(0)
			w.u32(t.id)
			w.u32(0)
			w.u64(scaleDur(t.total, t.scale, r.movieScale))
			w.raw(rest)
		})
		w.box("mdia", func() {
			lang := t.mdhd[20:24]
			if t.mdhd[0] == 1 {
				lang = t.mdhd[32:36]
			}
			w.full("mdhd", 1, 0, func() {
				w.u64(0)
				w.u64(0)
				w.u32(t.scale)
				w.u64(t.total)
				w.raw(lang)
			})
			w.raw(t.hdlr)
			w.box("minf", func() {
				w.raw(t.mhd)
				if t.dinf != nil {
					w.raw(t.dinf)
				} else {
					w.box("dinf", func() {
						w.full("dref", 0, 0, func() {
							w.u32(1)
							w.full("url ", 0, 1, func() {})
						})
					})
				}
				w.box("stbl", func() { t.stbl(w, co64) })
			})
		})
	})
}

// runTable writes a table of the runs of equal items among n, after its
// entry count: entry(first, length) writes the entry of each run.
func (w *boxWriter) runTable(n int, same func(i, j int) bool, entry func(first, length int)) {
	at := len(w.b)
	w.u32(0)
	var runs uint32
	for i := 0; i < n; {
		j := i + 1
		for j < n && same(i, j) {
			j++
		}
		entry(i, j-i)
		runs++
		i = j
	}
	binary.BigEndian.PutUint32(w.b[at:], runs)
}

func (t *remuxTrack) stbl(w *boxWriter, co64 bool) {
	w.raw(t.stsd)
	// stts: runs of equal durations.
	w.full("stts", 0, 0, func() {
		w.runTable(len(t.durs), func(i, j int) bool { return t.durs[i] == t.durs[j] }, func(i, n int) {
			w.u32(uint32(n))
			w.u32(t.durs[i])
		})
	})
	hasCTO, negative := false, false
	for _, c := range t.ctos {
		hasCTO = hasCTO || c != 0
		negative = negative || c < 0
	}
	if hasCTO {
		var version byte
		if negative {
			version = 1
		}
		w.full("ctts", version, 0, func() {
			w.runTable(len(t.ctos), func(i, j int) bool { return t.ctos[i] == t.ctos[j] }, func(i, n int) {
				w.u32(uint32(n))
				w.u32(uint32(t.ctos[i]))
			})
		})
	}
	var nonSync int
	for _, ns := range t.nonSync {
		if ns {
			nonSync++
		}
	}
	if nonSync > 0 {
		w.full("stss", 0, 0, func() {
			w.u32(uint32(len(t.nonSync) - nonSync))
			for i, ns := range t.nonSync {
				if !ns {
					w.u32(uint32(i + 1))
				}
			}
		})
	}
	// stsc: runs of chunks with the same number of samples.
	w.full("stsc", 0, 0, func() {
		w.runTable(len(t.chunks), func(i, j int) bool { return t.chunks[i].samples == t.chunks[j].samples }, func(i, _ int) {
			w.u32(uint32(i + 1))
			w.u32(uint32(t.chunks[i].samples))
			w.u32(1)
		})
	})
	w.full("stsz", 0, 0, func() {
		same := true
		for _, s := range t.sizes {
			same = same && s == t.sizes[0]
		}
		if same {
			w.u32(t.sizes[0])
			w.u32(uint32(len(t.sizes)))
			return
		}
		w.u32(0)
		w.u32(uint32(len(t.sizes)))
		for _, s := range t.sizes {
			w.u32(s)
		}
	})
	if co64 {
		w.full("co64", 0, 0, func() {
			w.u32(uint32(len(t.chunks)))
			for _, c := range t.chunks {
				w.u64(uint64(c.out))
			}
		})
		return
	}
	w.full("stco", 0, 0, func() {
		w.u32(uint32(len(t.chunks)))
		for _, c := range t.chunks {
			w.u32(uint32(c.out))
		}
	})
}

// codecKey is a sample description without what only describes one
// segment's bit rate (btrt boxes, the esds bit-rate fields): two segments
// with the same key can share one description.
func codecKey(stsd []byte) []byte {
	if len(stsd) < 16 {
		return stsd
	}
	key := append([]byte(nil), stsd[:16]...)
	for _, e := range children(stsd[16:]) {
		entry := stsd[16+e.Off : 16+e.end()]
		fixed := int64(0) // sample entry fields before the child boxes
		switch e.Type {
		case "avc1", "avc3", "hvc1", "hev1", "vp08", "vp09", "av01":
			fixed = 8 + 78
		case "mp4a", "Opus", "ac-3", "ec-3":
			fixed = 8 + 28
		}
		if fixed == 0 || e.Size < fixed {
			key = append(key, entry...)
			continue
		}
		key = append(key, entry[:fixed]...)
		for _, c := range children(entry[fixed:]) {
			child := entry[fixed+c.Off : fixed+c.end()]
			switch c.Type {
			case "btrt":
				continue
			case "esds":
				child = esdsWithoutBitrate(child)
			}
			key = append(key, child...)
		}
	}
	return key
}

// esdsWithoutBitrate zeroes the max and average bit rates of an esds box's
// DecoderConfigDescriptor.
func esdsWithoutBitrate(esds []byte) []byte {
	out := append([]byte(nil), esds...)
	pos := 12 // box header and version/flags
	// descriptor reads a tag and its variable-length size at pos.
	descriptor := func() (tag byte, size, body int, ok bool) {
		if pos >= len(out) {
			return 0, 0, 0, false
		}
		tag = out[pos]
		i := pos + 1
		for n := 0; n < 4 && i < len(out); n++ {
			size = size<<7 | int(out[i]&0x7f)
			i++
			if out[i-1]&0x80 == 0 {
				return tag, size, i, true
			}
		}
		return 0, 0, 0, false
	}
	tag, _, body, ok := descriptor()
	if !ok || tag != 0x03 || body+3 > len(out) {
		return out
	}
	flags := out[body+2]
	pos = body + 3
	if flags&0x80 != 0 {
		pos += 2
	}
	if flags&0x40 != 0 && pos < len(out) {
		pos += 1 + int(out[pos])
	}
	if flags&0x20 != 0 {
		pos += 2
	}
	tag, _, body, ok = descriptor()
	if !ok || tag != 0x04 || body+13 > len(out) {
		return out
	}
	clear(out[body+5 : body+13])
	return out
}

// identityEdits reports whether an edts box changes nothing: no elst, or
// one entry that starts at media time 0 at normal rate.
func identityEdits(edts []byte) bool {
	elst := find(edts, "elst")
	if elst == nil {
		return true
	}
	if len(elst) < 8 {
		return false
	}
	n := be32(elst, 4)
	if n == 0 {
		return true
	}
	if n != 1 {
		return false
	}
	if elst[0] == 1 {
		return len(elst) >= 28 && be64(elst, 16) == 0 && be32(elst, 24) == 0x10000
	}
	return len(elst) >= 20 && be32(elst, 12) == 0 && be32(elst, 16) == 0x10000
}
