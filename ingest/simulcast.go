package ingest

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Simulcast. A publisher may send one video track as several encodings
// (RIDs), from small to full size. The room's sink gets exactly one of
// them: the smallest that covers the track's tile, as the sink says through
// media.SizeHinter (the highest layer when it says nothing). A selector
// polls the hint every layerPollInterval; when the wanted layer changes it
// asks that layer for a keyframe and switches at the keyframe, once the
// current layer's frame is complete. SSRC, sequence numbers and RTP
// timestamps are rewritten so that the sink sees one continuous stream, and
// the forwarded layer's sender reports are moved into the same timestamp
// space, so lip-sync and the raw-track recorder keep working across
// switches.

const (
	layerPollInterval = time.Second
	// layerStale: a layer that sent nothing for this long (paused by the
	// publisher) is not chosen.
	layerStale = 1500 * time.Millisecond
	// switchWait bounds how long, and for how many packets, the target
	// layer's keyframe waits for the current layer's frame to end.
	switchWait    = 300 * time.Millisecond
	switchPackets = 512
	// coverTolerance: a layer within 10% of the tile's size covers it.
	coverTolerance = 0.9
)

// layer is one simulcast encoding. Its fields are guarded by simulcast.mu.
type layer struct {
	rid   string
	track *webrtc.TrackRemote
	ssrc  uint32
	rank  int // position from small to large by its RID
	pli   limiter

	width, height int // from its last keyframe (VP8), 0 while unknown
	lastPacket    time.Time
	sr            media.SenderReport // its latest sender report, as sent
	haveSR        bool

	// Rewriting into the forwarded stream while the layer is active.
	seqOffset uint16
	tsOffset  uint32
	firstSeq  uint16 // forwarded sequence number of its switch keyframe
}

// pendingPacket is a packet of the target layer held until the switch.
type pendingPacket struct {
	pkt []byte
	hdr rtp.Header
}

// simulcast forwards one layer of a simulcast track to the room's sink.
type simulcast struct {
	s     *session
	recv  *webrtc.RTPReceiver
	sink  media.TrackSink
	hint  media.SizeHinter // nil: the sink takes the highest layer
	log   *slog.Logger
	mime  string
	clock uint32
	kf    limiter // the sink's keyframe requests

	mu       sync.Mutex // guards everything below and serializes sink calls
	layers   []*layer
	outSSRC  uint32
	active   *layer
	target   *layer
	started  bool // a packet was forwarded
	lastSeq  uint16
	lastTS   uint32
	lastEnd  bool // the last forwarded packet ended a frame (marker)
	lastAt   time.Time
	pending  []pendingPacket // target packets from its keyframe on
	pendAt   time.Time
	pendL    *layer
	running  int  // layer readers running
	ended    bool // every reader ended; no layer may join
	sinkErr  bool
	done     chan struct{} // closed when the last reader ends
	switches int
}

// newSimulcast starts forwarding for the first layer of a track whose sink
// the room gave; outSSRC is the forwarded stream's SSRC.
func newSimulcast(s *session, recv *webrtc.RTPReceiver, sink media.TrackSink, mime string, clock uint32, outSSRC uint32, log *slog.Logger) *simulcast {
	sc := &simulcast{s: s, recv: recv, sink: sink, log: log, mime: mime, clock: clock, outSSRC: outSSRC,
		kf: limiter{every: keyframeInterval}, done: make(chan struct{})}
	if h, ok := sink.(media.SizeHinter); ok {
		sc.hint = h
	}
	return sc
}

// addLayer starts the readers of one more layer; false when the track has
// ended already or the session is closing.
func (sc *simulcast) addLayer(track *webrtc.TrackRemote) bool {
	sc.mu.Lock()
	if sc.ended {
		sc.mu.Unlock()
		return false
	}
	l := &layer{rid: track.RID(), track: track, ssrc: uint32(track.SSRC()), pli: limiter{every: keyframeInterval}}
	sc.layers = append(sc.layers, l)
	sc.rankLayers()
	sc.running++
	sc.mu.Unlock()
	if !sc.s.spawn(func() { sc.runLayer(l) }) {
		sc.layerEnded()
		return false
	}
	sc.s.meter.add(l.ssrc, string(media.Video), sc.mime, trackID(track)+"/"+l.rid)
	sc.requestLayerKeyframe(l) // learn its size from a keyframe
	sc.selectLayer()
	return true
}

// rankLayers orders the layers from small to large by RID: q/h/f and
// l/m/h by name, any other names in the offer's simulcast order.
func (sc *simulcast) rankLayers() {
	var order []string
	for _, t := range sc.recv.Tracks() {
		order = append(order, t.RID())
	}
	for _, l := range sc.layers {
		if !slices.Contains(order, l.rid) {
			order = append(order, l.rid)
		}
	}
	for _, names := range [][]string{{"q", "h", "f"}, {"l", "m", "h"}, {"low", "mid", "high"}} {
		if !slices.ContainsFunc(order, func(r string) bool { return !slices.Contains(names, r) }) {
			order = names
			break
		}
	}
	for _, l := range sc.layers {
		l.rank = slices.Index(order, l.rid)
	}
}

// runLayer reads one layer's RTP and RTCP until the track ends.
func (sc *simulcast) runLayer(l *layer) {
	rtcpDone := make(chan struct{})
	go func() {
		defer close(rtcpDone)
		sc.readRTCP(l)
	}()
	buf := make([]byte, maxPacket)
	for {
		n, _, err := l.track.Read(buf)
		if err != nil {
			break
		}
		if !plausibleRTP(buf[:n]) {
			continue
		}
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		sc.s.packets.Add(1)
		sc.s.bytes.Add(uint64(n))
		sc.onPacket(l, pkt)
	}
	<-rtcpDone
	sc.layerEnded()
}

func (sc *simulcast) layerEnded() {
	sc.mu.Lock()
	sc.running--
	last := sc.running == 0 && !sc.ended
	if last {
		sc.ended = true
	}
	sc.mu.Unlock()
	if last {
		close(sc.done)
	}
}

// run polls the sink's size hint until every layer ended, then closes the
// sink.
func (sc *simulcast) run() {
	tick := time.NewTicker(layerPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			sc.selectLayer()
		case <-sc.done:
			if err := sc.sink.Close(); err != nil {
				sc.log.Warn("close track sink", "err", err)
			}
			return
		}
	}
}

func (sc *simulcast) readRTCP(l *layer) {
	buf := make([]byte, maxPacket)
	for {
		n, _, err := sc.recv.ReadSimulcast(buf, l.rid)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			sr, ok := p.(*rtcp.SenderReport)
			if !ok || sr.SSRC != l.ssrc {
				continue
			}
			sc.onSenderReport(l, media.SenderReport{SSRC: sr.SSRC, NTPTime: sr.NTPTime, RTPTime: sr.RTPTime,
				PacketCount: sr.PacketCount, OctetCount: sr.OctetCount, Arrival: time.Now()})
		}
	}
}

// onSenderReport keeps a layer's report and forwards it, in the forwarded
// stream's SSRC and timestamps, while the layer is active.
func (sc *simulcast) onSenderReport(l *layer, sr media.SenderReport) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	l.sr, l.haveSR = sr, true
	if sc.active != l {
		return
	}
	sr.SSRC = sc.outSSRC
	sr.RTPTime += l.tsOffset
	sc.sink.WriteSenderReport(sr)
}

// onPacket forwards, holds or drops one packet of a layer.
func (sc *simulcast) onPacket(l *layer, pkt []byte) {
	var hdr rtp.Header
	n, err := hdr.Unmarshal(pkt)
	if err != nil {
		return
	}
	payload := pkt[n:]
	if hdr.Padding && len(payload) > 0 {
		pad := int(payload[len(payload)-1])
		if pad > len(payload) {
			return
		}
		payload = payload[:len(payload)-pad]
	}
	now := time.Now()
	key, w, h := keyframeStart(sc.mime, payload)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	l.lastPacket = now
	if key && w > 0 && h > 0 {
		l.width, l.height = w, h
	}
	switch {
	case sc.pendL == l:
		sc.pending = append(sc.pending, pendingPacket{pkt: pkt, hdr: hdr})
		if len(sc.pending) >= switchPackets || now.Sub(sc.pendAt) > switchWait {
			sc.completeSwitch(now)
		}
	case l == sc.active:
		sc.forward(l, pkt, hdr, now)
		if sc.pendL != nil && hdr.Marker {
			sc.completeSwitch(now)
		}
	case l == sc.target && key && len(payload) > 0:
		sc.pendL, sc.pendAt = l, now
		sc.pending = append(sc.pending[:0], pendingPacket{pkt: pkt, hdr: hdr})
		if sc.active == nil || sc.lastEnd || now.Sub(sc.active.lastPacket) > switchWait {
			sc.completeSwitch(now)
		}
	}
}

// completeSwitch makes the pending layer active: its keyframe continues the
// forwarded stream's sequence numbers and timestamps. Called with sc.mu held.
func (sc *simulcast) completeSwitch(now time.Time) {
	l, pend := sc.pendL, sc.pending
	sc.pendL, sc.pending = nil, nil
	if l == nil || len(pend) == 0 {
		return
	}
	first := pend[0].hdr
	prev := sc.active
	if !sc.started {
		l.seqOffset, l.tsOffset = 0, 0
	} else {
		l.seqOffset = sc.lastSeq + 1 - first.SequenceNumber
		l.tsOffset = sc.tsOffsetFor(prev, l, first.Timestamp, now)
	}
	l.firstSeq = first.SequenceNumber + l.seqOffset
	sc.active = l
	if sc.started {
		sc.switches++
		sc.log.Info("simulcast layer switched", "rid", l.rid, "width", l.width, "height", l.height,
			"from", ridOf(prev))
	} else {
		sc.log.Info("simulcast layer", "rid", l.rid, "width", l.width, "height", l.height)
	}
	for _, p := range pend {
		if int16(p.hdr.SequenceNumber-first.SequenceNumber) < 0 {
			continue
		}
		sc.forward(l, p.pkt, p.hdr, now)
	}
}

// tsOffsetFor maps the new layer's timestamps into the forwarded stream.
// Both layers' sender reports give the exact mapping (the encodings share
// the capture clock); without them, or if they disagree with the wall
// clock by more than half a second, the time since the last forwarded
// packet is used. The keyframe always comes after the last forwarded frame.
func (sc *simulcast) tsOffsetFor(prev, l *layer, ts uint32, now time.Time) uint32 {
	rate := float64(sc.clock)
	if rate == 0 {
		rate = 90000
	}
	expected := sc.lastTS + uint32(max(now.Sub(sc.lastAt).Seconds(), 0)*rate)
	off := expected - ts
	if prev != nil && prev.haveSR && l.haveSR {
		ntpDelta := float64(int64(l.sr.NTPTime-prev.sr.NTPTime)) / (1 << 32)
		viaSR := prev.tsOffset + prev.sr.RTPTime - l.sr.RTPTime + uint32(int64(ntpDelta*rate))
		if d := int32(ts + viaSR - expected); d > -int32(rate/2) && d < int32(rate/2) {
			off = viaSR
		}
	}
	if int32(ts+off-sc.lastTS) <= 0 {
		off = sc.lastTS + 1 - ts
	}
	return off
}

// forward rewrites a packet of the active layer into the forwarded stream
// and hands it to the sink. Called with sc.mu held.
func (sc *simulcast) forward(l *layer, pkt []byte, hdr rtp.Header, now time.Time) {
	seq := hdr.SequenceNumber + l.seqOffset
	if sc.started && int16(seq-l.firstSeq) < 0 {
		return // from before the switch keyframe
	}
	ts := hdr.Timestamp + l.tsOffset
	putUint16(pkt[2:], seq)
	putUint32(pkt[4:], ts)
	putUint32(pkt[8:], sc.outSSRC)
	if !sc.started || int16(seq-sc.lastSeq) > 0 {
		sc.lastSeq, sc.lastTS, sc.lastEnd, sc.lastAt = seq, ts, hdr.Marker, now
	}
	sc.started = true
	if err := sc.sink.WriteRTP(pkt); err != nil && !sc.sinkErr {
		sc.sinkErr = true
		sc.log.Warn("track sink refused packet", "err", err)
	}
}

// selectLayer polls the hint and picks the target layer; it asks the
// target for a keyframe while it is not active, and any layer whose size
// is unknown for one.
func (sc *simulcast) selectLayer() {
	w, h := -1, -1 // no hint: the largest
	if sc.hint != nil {
		w, h = sc.hint.DesiredSize()
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	t := chooseLayer(sc.layers, w, h, time.Now())
	if t != nil && t != sc.target {
		sc.log.Debug("simulcast target", "rid", t.rid, "tile_width", w, "tile_height", h)
		sc.target = t
	}
	if sc.target != nil && sc.target != sc.active {
		sc.requestLayerKeyframe(sc.target)
	}
	if sc.mime == webrtc.MimeTypeVP8 {
		for _, l := range sc.layers {
			if l.width == 0 {
				sc.requestLayerKeyframe(l)
			}
		}
	}
}

// requestKeyframe is the sink's keyframe request: a PLI for the layer being
// forwarded (or about to be).
func (sc *simulcast) requestKeyframe() {
	if !sc.kf.allow() {
		return
	}
	sc.mu.Lock()
	l := sc.active
	if sc.target != nil && (l == nil || sc.pendL != nil) {
		l = sc.target
	}
	var ssrc uint32
	if l != nil {
		ssrc = l.ssrc
	}
	sc.mu.Unlock()
	if ssrc != 0 {
		_ = sc.s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

func (sc *simulcast) requestLayerKeyframe(l *layer) {
	if l.ssrc == 0 || !l.pli.allow() {
		return
	}
	_ = sc.s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
}

// chooseLayer is the smallest live layer that covers a w x h tile (the
// smallest for a hidden tile, 0x0; the largest for w < 0). Sizes come
// from the layers' keyframes when every live layer's is known; otherwise
// the RID order stands for sizes halving from 1280x720 down.
func chooseLayer(layers []*layer, w, h int, now time.Time) *layer {
	var live []*layer
	for _, l := range layers {
		if !l.lastPacket.IsZero() && now.Sub(l.lastPacket) < layerStale {
			live = append(live, l)
		}
	}
	if len(live) == 0 {
		live = layers
	}
	if len(live) == 0 {
		return nil
	}
	known := !slices.ContainsFunc(live, func(l *layer) bool { return l.width == 0 })
	size := func(l *layer) (int, int) {
		if known {
			return l.width, l.height
		}
		shift := 0
		for _, o := range live {
			if o.rank > l.rank {
				shift++
			}
		}
		return 1280 >> shift, 720 >> shift
	}
	sorted := slices.Clone(live)
	slices.SortStableFunc(sorted, func(a, b *layer) int {
		aw, ah := size(a)
		bw, bh := size(b)
		if d := aw*ah - bw*bh; d != 0 {
			return d
		}
		return a.rank - b.rank
	})
	if w < 0 || h < 0 {
		return sorted[len(sorted)-1]
	}
	for _, l := range sorted {
		lw, lh := size(l)
		if float64(lw) >= float64(w)*coverTolerance && float64(lh) >= float64(h)*coverTolerance {
			return l
		}
	}
	return sorted[len(sorted)-1]
}

func ridOf(l *layer) string {
	if l == nil {
		return ""
	}
	return l.rid
}

func putUint16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }
func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// keyframeStart reports whether an RTP payload starts a keyframe, and for
// VP8 the keyframe's size.
func keyframeStart(mime string, p []byte) (key bool, width, height int) {
	switch mime {
	case webrtc.MimeTypeVP8:
		return vp8KeyframeStart(p)
	case webrtc.MimeTypeVP9:
		// Descriptor: I P L F B E V Z; a keyframe starts with P=0, B=1.
		return len(p) > 0 && p[0]&0x40 == 0 && p[0]&0x08 != 0, 0, 0
	case webrtc.MimeTypeH264:
		return h264KeyframeStart(p), 0, 0
	}
	return false, 0, 0
}

// vp8KeyframeStart parses the VP8 payload descriptor (RFC 7741) and the
// start of a key frame's header.
func vp8KeyframeStart(p []byte) (bool, int, int) {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false, 0, 0 // not the first packet of a partition 0
	}
	i := 1
	if p[0]&0x80 != 0 {
		if len(p) < 2 {
			return false, 0, 0
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // PictureID, 7 or 15 bits
			if len(p) <= i {
				return false, 0, 0
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // TID/KEYIDX
			i++
		}
	}
	if len(p) <= i || p[i]&0x01 != 0 {
		return false, 0, 0 // inter frame
	}
	f := p[i:]
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return true, 0, 0
	}
	w := int(uint16(f[6])|uint16(f[7])<<8) & 0x3fff
	h := int(uint16(f[8])|uint16(f[9])<<8) & 0x3fff
	return true, w, h
}

// h264KeyframeStart: an SPS or IDR slice alone, in a STAP-A, or the first
// fragment of an IDR slice.
func h264KeyframeStart(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 < len(p) {
				if nt := p[i+2] & 0x1f; nt == 5 || nt == 7 {
					return true
				}
			}
			i += 2 + size
		}
	case 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}
