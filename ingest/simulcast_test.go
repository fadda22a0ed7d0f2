package ingest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// simulcastLayers are the publisher's encodings, small to large.
var simulcastLayers = []struct {
	rid  string
	w, h int
}{{"q", 160, 120}, {"h", 320, 240}, {"f", 640, 480}}

// simulcastFixtures are VP8 files of the three layer sizes from one
// source, made once per test binary (removed by TestMain).
var simulcastFixtures struct {
	once  sync.Once
	dir   string
	paths map[string]string
	err   error
	out   []byte
}

func simulcastFiles(t *testing.T) map[string]string {
	t.Helper()
	simulcastFixtures.once.Do(func() {
		dir, err := os.MkdirTemp("", "ingest-simulcast-")
		if err != nil {
			simulcastFixtures.err = err
			return
		}
		simulcastFixtures.dir = dir
		simulcastFixtures.paths = map[string]string{}
		args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=30:duration=3",
			"-filter_complex", "[0:v]split=3[a][b][c];[a]scale=160:120[q];[b]scale=320:240[h];[c]null[f]"}
		for _, l := range simulcastLayers {
			p := filepath.Join(dir, "layer-"+l.rid+".ivf")
			args = append(args, "-map", "["+l.rid+"]", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
				"-g", "30", "-b:v", "200k", "-f", "ivf", p)
			simulcastFixtures.paths[l.rid] = p
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
			simulcastFixtures.err, simulcastFixtures.out = err, out
		}
	})
	if simulcastFixtures.err != nil {
		t.Fatalf("make simulcast fixtures: %v: %s", simulcastFixtures.err, simulcastFixtures.out)
	}
	return simulcastFixtures.paths
}

// rtcpSeen counts the RTCP packets a client peer receives, by type.
type rtcpSeen struct {
	mu     sync.Mutex
	counts map[string]int
}

func (r *rtcpSeen) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[kind]
}

// rtcpWatch is an interceptor that counts incoming RTCP before pion's own
// interceptors consume it.
type rtcpWatch struct {
	interceptor.NoOp
	seen *rtcpSeen
	tags func(ssrc uint32) (mid, rid string, ok bool)
}

func (w *rtcpWatch) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			if pkts, perr := rtcp.Unmarshal(b[:n]); perr == nil {
				w.seen.mu.Lock()
				for _, p := range pkts {
					switch p := p.(type) {
					case *rtcp.TransportLayerCC:
						w.seen.counts["twcc"]++
					case *rtcp.ReceiverEstimatedMaximumBitrate:
						w.seen.counts["remb"]++
					case *rtcp.PictureLossIndication:
						w.seen.counts["pli"]++
					case *rtcp.ReceiverReport:
						w.seen.counts["rr"]++
					default:
						_ = p
					}
				}
				w.seen.mu.Unlock()
			}
		}
		return n, a, err
	})
}

// BindLocalStream adds the mid and rid header extensions to a simulcast
// layer's packets, as a browser does (pion's static tracks leave that to
// the application).
func (w *rtcpWatch) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	var midID, ridID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	if w.tags == nil || midID == 0 || ridID == 0 {
		return writer
	}
	ssrc := info.SSRC
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		if mid, rid, ok := w.tags(ssrc); ok {
			_ = h.SetExtension(midID, []byte(mid))
			_ = h.SetExtension(ridID, []byte(rid))
		}
		return writer.Write(h, p, a)
	})
}

type rtcpWatchFactory struct {
	seen *rtcpSeen
	tags func(ssrc uint32) (mid, rid string, ok bool)
}

func (f rtcpWatchFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpWatch{seen: f.seen, tags: f.tags}, nil
}

// browserLikeAPI is a pion API configured as browsers are: default codecs
// and interceptors (NACK, reports, simulcast header extensions, TWCC), the
// transport-wide sequence number on every packet, and an RTCP counter.
func browserLikeAPI(t testing.TB, tags func(ssrc uint32) (mid, rid string, ok bool)) (*webrtc.API, *rtcpSeen) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	seen := &rtcpSeen{counts: map[string]int{}}
	reg.Add(rtcpWatchFactory{seen: seen, tags: tags})
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, reg); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), seen
}

// simulcastPublisher sends one VP8 track as three encodings q, h and f.
type simulcastPublisher struct {
	pc       *webrtc.PeerConnection
	layers   map[string]*webrtc.TrackLocalStaticSample
	sender   *webrtc.RTPSender
	seen     *rtcpSeen
	location string
	mu       sync.Mutex // guards sender for tags
	stop     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

func newSimulcastPublisher(t *testing.T) *simulcastPublisher {
	t.Helper()
	p := &simulcastPublisher{layers: map[string]*webrtc.TrackLocalStaticSample{}, stop: make(chan struct{})}
	api, seen := browserLikeAPI(t, p.tags)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p.pc, p.seen = pc, seen
	t.Cleanup(p.close)
	for i, l := range simulcastLayers {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "alice",
			webrtc.WithRTPStreamID(l.rid))
		if err != nil {
			t.Fatal(err)
		}
		p.layers[l.rid] = tr
		if i == 0 {
			sender, err := pc.AddTrack(tr)
			if err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			p.sender = sender
			p.mu.Unlock()
			continue
		}
		if err := p.sender.AddEncoding(tr); err != nil {
			t.Fatal(err)
		}
	}
	p.wg.Add(1)
	go func() { // RTCP must be read for the interceptors to see it
		defer p.wg.Done()
		for {
			if _, _, err := p.sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	return p
}

// tags names the mid and rid of a layer's SSRC.
func (p *simulcastPublisher) tags(ssrc uint32) (mid, rid string, ok bool) {
	p.mu.Lock()
	sender := p.sender
	p.mu.Unlock()
	if sender == nil {
		return "", "", false
	}
	var tr *webrtc.RTPTransceiver
	for _, x := range p.pc.GetTransceivers() {
		if x.Sender() == sender {
			tr = x
		}
	}
	if tr == nil || tr.Mid() == "" {
		return "", "", false
	}
	for _, e := range sender.GetParameters().Encodings {
		if uint32(e.SSRC) == ssrc {
			return tr.Mid(), e.RID, true
		}
	}
	return "", "", false
}

func (p *simulcastPublisher) publish(t *testing.T, h *harness, room string) string {
	t.Helper()
	offer := offerOf(t, p.pc)
	resp, body := h.do(t, "POST", "/rooms/"+room+"/whip", h.token(t, room, auth.RolePublish), "application/sdp", []byte(offer))
	if resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	p.location = resp.Header.Get("Location")
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	return string(body)
}

// send streams every layer's file in real time, all from one clock as a
// camera's encoder would.
func (p *simulcastPublisher) send(t *testing.T) {
	t.Helper()
	files := simulcastFiles(t)
	for rid, tr := range p.layers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-p.stop:
					return
				default:
				}
				if err := sendIVF(files[rid], tr, p.stop); err != nil {
					return
				}
			}
		}()
	}
}

func (p *simulcastPublisher) close() {
	p.once.Do(func() {
		close(p.stop)
		_ = p.pc.Close()
		p.wg.Wait()
	})
}

// hintRooms hands out sinks whose tile size the test sets.
type hintRooms struct {
	*testRooms
	mu    sync.Mutex
	sinks []*hintSink
	w, h  atomic.Int32
}

func (r *hintRooms) Join(ctx context.Context, room string, p Participant) (Room, error) {
	return &hintRoom{r: r}, nil
}

type hintRoom struct{ r *hintRooms }

func (hr *hintRoom) AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error) {
	s := &hintSink{info: info, r: hr.r, closed: make(chan struct{})}
	hr.r.mu.Lock()
	hr.r.sinks = append(hr.r.sinks, s)
	hr.r.mu.Unlock()
	return s, nil
}

func (hr *hintRoom) Leave(string) {}

func (r *hintRooms) setSize(w, h int) { r.w.Store(int32(w)); r.h.Store(int32(h)) }

func (r *hintRooms) sink() *hintSink {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sinks) == 0 {
		return nil
	}
	return r.sinks[0]
}

// hintSink keeps the forwarded packets with their arrival, and the reports.
type hintSink struct {
	info    media.TrackInfo
	r       *hintRooms
	mu      sync.Mutex
	packets []arrived
	srs     []media.SenderReport
	closed  chan struct{}
	once    sync.Once
}

type arrived struct {
	hdr           rtp.Header
	at            time.Time
	key           bool
	width, height int
}

func (s *hintSink) DesiredSize() (int, int) { return int(s.r.w.Load()), int(s.r.h.Load()) }

func (s *hintSink) WriteRTP(b []byte) error {
	var pkt rtp.Packet
	if err := pkt.Unmarshal(b); err != nil {
		return err
	}
	key, w, h := vp8KeyframeStart(pkt.Payload)
	s.mu.Lock()
	s.packets = append(s.packets, arrived{hdr: pkt.Header, at: time.Now(), key: key, width: w, height: h})
	s.mu.Unlock()
	return nil
}

func (s *hintSink) WriteSenderReport(sr media.SenderReport) {
	s.mu.Lock()
	s.srs = append(s.srs, sr)
	s.mu.Unlock()
}

func (s *hintSink) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *hintSink) snapshot() ([]arrived, []media.SenderReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrived(nil), s.packets...), append([]media.SenderReport(nil), s.srs...)
}

// lastKeyWidth is the width of the last forwarded keyframe from index from.
func lastKeyWidth(ps []arrived, from int) (width, at int) {
	at = -1
	for i := from; i < len(ps); i++ {
		if ps[i].key && ps[i].width > 0 {
			width, at = ps[i].width, i
		}
	}
	return width, at
}

// A publisher sends three VP8 layers; the sink gets one stream: the small
// layer for a small tile, the large one once the tile grows, switched at a
// keyframe with one SSRC, gapless sequence numbers, timestamps that go on,
// and sender reports in the forwarded stream's timestamps.
func TestSimulcastForwardsLayerForTile(t *testing.T) {
	rooms := &hintRooms{testRooms: newTestRooms()}
	rooms.setSize(160, 120)
	h := newHarnessWith(t, func(c *Config) { c.Rooms = rooms })
	pub := newSimulcastPublisher(t)
	pub.publish(t, h, "sim")
	pub.send(t)

	waitFor(t, "the small layer forwarded", 15*time.Second, func() bool {
		s := rooms.sink()
		if s == nil {
			return false
		}
		ps, _ := s.snapshot()
		w, _ := lastKeyWidth(ps, 0)
		return w == 160 && len(ps) > 60
	})
	sink := rooms.sink()
	before, _ := sink.snapshot()
	rooms.setSize(640, 480)
	waitFor(t, "the large layer forwarded", 10*time.Second, func() bool {
		ps, _ := sink.snapshot()
		w, _ := lastKeyWidth(ps, len(before))
		return w == 640
	})
	time.Sleep(1500 * time.Millisecond) // sender reports of the new layer
	ps, srs := sink.snapshot()
	_, sw := lastKeyWidth(ps, len(before))
	// The first 640-wide keyframe after the change is the switch.
	for i := len(before); i < len(ps); i++ {
		if ps[i].key && ps[i].width == 640 {
			sw = i
			break
		}
	}
	if sw <= 0 {
		t.Fatal("no switch to the large layer")
	}
	if w := ps[sw-1]; w.hdr.Marker == false {
		t.Errorf("the small layer's last packet before the switch does not end a frame")
	}

	if sink.info.Kind != media.Video || sink.info.MimeType != webrtc.MimeTypeVP8 {
		t.Errorf("track info %+v", sink.info)
	}
	if n := len(rooms.sinks); n != 1 {
		t.Errorf("%d sinks for one simulcast track, want 1", n)
	}
	for i, p := range ps {
		if p.hdr.SSRC != sink.info.SSRC {
			t.Fatalf("packet %d has SSRC %d, want the track's %d", i, p.hdr.SSRC, sink.info.SSRC)
		}
	}
	// Sequence numbers: every one from the first to the last (a
	// retransmission may repeat one), in particular across the switch.
	seen := map[uint16]bool{}
	for _, p := range ps {
		seen[p.hdr.SequenceNumber] = true
	}
	first := ps[0].hdr.SequenceNumber
	span := int(uint16(ps[len(ps)-1].hdr.SequenceNumber-first)) + 1
	if len(seen) != span || len(ps) > span+span/100 {
		t.Errorf("%d packets, %d distinct sequence numbers over a span of %d", len(ps), len(seen), span)
	}
	if d := ps[sw].hdr.SequenceNumber - ps[sw-1].hdr.SequenceNumber; d != 1 {
		t.Errorf("sequence number jumps by %d at the switch", d)
	}
	// Timestamps go on: never back, and the keyframe after the switch
	// comes one or a few frames after the small layer's last frame.
	for i := 1; i < len(ps); i++ {
		if d := int32(ps[i].hdr.Timestamp - ps[i-1].hdr.Timestamp); d < 0 {
			t.Fatalf("timestamp goes back by %d at packet %d (switch at %d)", -d, i, sw)
		}
	}
	if d := int32(ps[sw].hdr.Timestamp - ps[sw-1].hdr.Timestamp); d <= 0 || d > 9000 {
		t.Errorf("timestamp advances by %d (%.0f ms) at the switch, want one to a few frames",
			d, float64(d)/90)
	} else {
		t.Logf("switch at packet %d: timestamp +%d (%.1f ms)", sw, d, float64(d)/90)
	}
	// Sender reports: the forwarded SSRC, and an RTP time that matches the
	// forwarded packets at the report's arrival, before and after.
	var after int
	for _, sr := range srs {
		if sr.SSRC != sink.info.SSRC {
			t.Fatalf("sender report for SSRC %d, want %d", sr.SSRC, sink.info.SSRC)
		}
		// the packet that arrived closest to the report
		best := -1
		for i, p := range ps {
			if best < 0 || absDur(p.at.Sub(sr.Arrival)) < absDur(ps[best].at.Sub(sr.Arrival)) {
				best = i
			}
		}
		p := ps[best]
		want := int64(sr.RTPTime) + int64(p.at.Sub(sr.Arrival).Seconds()*90000)
		if d := int32(p.hdr.Timestamp - uint32(want)); d > 9000 || d < -9000 {
			t.Errorf("sender report at %v: RTP time %d is %.0f ms off the forwarded packets",
				sr.Arrival.Format("15:04:05.000"), sr.RTPTime, float64(d)/90)
		}
		if best > sw {
			after++
		}
	}
	if after == 0 {
		t.Errorf("no sender report forwarded after the switch (%d in all)", len(srs))
	}
	// Hidden tile: back to the small layer.
	n := len(ps)
	rooms.setSize(0, 0)
	waitFor(t, "the small layer for a hidden tile", 10*time.Second, func() bool {
		ps, _ := sink.snapshot()
		w, _ := lastKeyWidth(ps, n)
		return w == 160
	})
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// chooseLayer: the smallest layer that covers the tile, by keyframe sizes
// when all are known and by RID order before.
func TestChooseLayer(t *testing.T) {
	now := time.Now()
	mk := func(known bool) []*layer {
		var ls []*layer
		for _, l := range []struct {
			rid  string
			w, h int
		}{{"f", 1280, 720}, {"q", 320, 180}, {"h", 640, 360}} {
			x := &layer{rid: l.rid, rank: map[string]int{"q": 0, "h": 1, "f": 2}[l.rid], lastPacket: now}
			if known {
				x.width, x.height = l.w, l.h
			}
			ls = append(ls, x)
		}
		return ls
	}
	for _, known := range []bool{true, false} {
		for _, c := range []struct {
			w, h int
			want string
		}{{-1, -1, "f"}, {0, 0, "q"}, {320, 180, "q"}, {330, 190, "q"}, {400, 300, "h"}, {640, 360, "h"},
			{720, 420, "f"}, {1920, 1080, "f"}} {
			if got := chooseLayer(mk(known), c.w, c.h, now); got.rid != c.want {
				t.Errorf("sizes known %v, tile %dx%d: layer %s, want %s", known, c.w, c.h, got.rid, c.want)
			}
		}
	}
	ls := mk(true)
	ls[0].lastPacket = now.Add(-5 * time.Second) // f paused by the publisher
	if got := chooseLayer(ls, 1280, 720, now); got.rid != "h" {
		t.Errorf("with f paused: layer %s, want h", got.rid)
	}
}
