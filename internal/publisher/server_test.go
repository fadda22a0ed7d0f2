package publisher

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// testServer is a small WHIP/WHEP server made of real pion peers: a WHIP
// session counts what each track delivers; a WHEP session gets the latest
// publisher's packets forwarded, and its PLIs are passed upstream.
type testServer struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	// vp8Only makes the server support VP8 and Opus only.
	vp8Only bool
	// feedback makes the server send one NACK and one PLI for the video
	// track after its 30th packet.
	feedback bool

	mu       sync.Mutex
	sessions map[string]*testSession
	deleted  map[string]bool
	nextID   int
	latest   *testSession // the last publisher
}

type testSession struct {
	id   string
	pc   *webrtc.PeerConnection
	whep bool

	videoFrames, keyframes, videoPackets atomic.Int64
	audioPackets                         atomic.Int64
	videoSRs, audioSRs                   atomic.Int64
	videoMime                            atomic.Value // string
	// per kind (0 video, 1 audio): first RTP timestamp and first sender report
	firstRTP  [2]atomic.Pointer[uint32]
	firstSR   [2]atomic.Pointer[rtcp.SenderReport]
	videoSSRC atomic.Uint32

	fwdMu    sync.Mutex
	fwdVideo []*webrtc.TrackLocalStaticRTP
	fwdAudio []*webrtc.TrackLocalStaticRTP
	readers  sync.WaitGroup
}

func newTestServer(t *testing.T, token string) *testServer {
	s := &testServer{t: t, token: token, sessions: map[string]*testSession{}, deleted: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rooms/{room}/whip", func(w http.ResponseWriter, r *http.Request) { s.post(w, r, false) })
	mux.HandleFunc("POST /rooms/{room}/whep", func(w http.ResponseWriter, r *http.Request) { s.post(w, r, true) })
	mux.HandleFunc("DELETE /rooms/{room}/sessions/{id}", s.delete)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.close)
	return s
}

func (s *testServer) url(kind string) string { return s.srv.URL + "/rooms/demo/" + kind }

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *testServer) post(w http.ResponseWriter, r *http.Request, whep bool) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		jsonError(w, http.StatusUnauthorized, "invalid or missing token")
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		jsonError(w, http.StatusUnsupportedMediaType, "want application/sdp")
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	pc, err := s.newPeer()
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.mu.Lock()
	s.nextID++
	sess := &testSession{id: fmt.Sprint(s.nextID), pc: pc, whep: whep}
	s.sessions[sess.id] = sess
	src := s.latest
	if !whep {
		s.latest = sess
	}
	s.mu.Unlock()

	if whep {
		if src == nil {
			jsonError(w, http.StatusNotFound, "nobody publishes")
			return
		}
		if err := s.addForwarders(pc, src); err != nil {
			jsonError(w, http.StatusInternalServerError, err.Error())
			return
		}
	} else {
		feedback := s.feedback
		pc.OnTrack(func(t *webrtc.TrackRemote, rec *webrtc.RTPReceiver) { sess.receive(t, rec, feedback) })
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	<-gathered
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/rooms/"+r.PathValue("room")+"/sessions/"+sess.id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func (s *testServer) newPeer() (*webrtc.PeerConnection, error) {
	if !s.vp8Only {
		return newPeerConnection(nil)
	}
	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		p    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
	} {
		if err := me.RegisterCodec(c.p, c.kind); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
}

// addForwarders gives a WHEP peer one track per kind fed from src.
func (s *testServer) addForwarders(pc *webrtc.PeerConnection, src *testSession) error {
	mime, _ := src.videoMime.Load().(string)
	if mime == "" {
		return fmt.Errorf("publisher has no video yet")
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "composite")
	if err != nil {
		return err
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "composite")
	if err != nil {
		return err
	}
	vs, err := pc.AddTrack(video)
	if err != nil {
		return err
	}
	if _, err := pc.AddTrack(audio); err != nil {
		return err
	}
	go func() { // viewer PLIs go to the publisher
		for {
			pkts, _, err := vs.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					_ = src.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: src.videoSSRC.Load()}})
				}
			}
		}
	}()
	src.fwdMu.Lock()
	src.fwdVideo = append(src.fwdVideo, video)
	src.fwdAudio = append(src.fwdAudio, audio)
	src.fwdMu.Unlock()
	return nil
}

func (sess *testSession) receive(t *webrtc.TrackRemote, rec *webrtc.RTPReceiver, feedback bool) {
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		sess.videoMime.Store(t.Codec().MimeType)
		sess.videoSSRC.Store(uint32(t.SSRC()))
	}
	sess.readers.Add(2)
	go func() {
		defer sess.readers.Done()
		for {
			pkts, _, err := rec.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if sr, ok := p.(*rtcp.SenderReport); ok {
					sess.firstSR[kindIndex(video)].CompareAndSwap(nil, sr)
					if video {
						sess.videoSRs.Add(1)
					} else {
						sess.audioSRs.Add(1)
					}
				}
			}
		}
	}()
	defer sess.readers.Done()
	vp8 := strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeVP8)
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		ts := p.Timestamp
		sess.firstRTP[kindIndex(video)].CompareAndSwap(nil, &ts)
		if !video {
			sess.audioPackets.Add(1)
			sess.forward(p, false)
			continue
		}
		if sess.videoPackets.Add(1) == 30 && feedback {
			ssrc := uint32(t.SSRC())
			_ = sess.pc.WriteRTCP([]rtcp.Packet{
				&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: p.SequenceNumber - 5}}},
				&rtcp.PictureLossIndication{MediaSSRC: ssrc},
			})
		}
		if p.Marker {
			sess.videoFrames.Add(1)
		}
		if (vp8 && vp8PacketKeyframe(p.Payload)) || (!vp8 && h264PacketKeyframe(p.Payload)) {
			sess.keyframes.Add(1)
		}
		sess.forward(p, true)
	}
}

func kindIndex(video bool) int {
	if video {
		return 0
	}
	return 1
}

// mediaStart is the sender's wall-clock time (from its first sender report)
// of the track's first RTP packet; ok is false before both are known.
func (sess *testSession) mediaStart(video bool, clockRate float64) (time.Time, bool) {
	i := kindIndex(video)
	first, sr := sess.firstRTP[i].Load(), sess.firstSR[i].Load()
	if first == nil || sr == nil {
		return time.Time{}, false
	}
	secs := float64(sr.NTPTime>>32) + float64(sr.NTPTime&0xFFFFFFFF)/(1<<32) - ntpEpochOffset
	secs -= float64(int32(sr.RTPTime-*first)) / clockRate
	return time.Unix(0, int64(secs*1e9)), true
}

func (sess *testSession) forward(p *rtp.Packet, video bool) {
	sess.fwdMu.Lock()
	dst := sess.fwdAudio
	if video {
		dst = sess.fwdVideo
	}
	dst = append([]*webrtc.TrackLocalStaticRTP(nil), dst...)
	sess.fwdMu.Unlock()
	for _, t := range dst {
		_ = t.WriteRTP(p)
	}
}

// vp8PacketKeyframe: first packet of a key frame (RFC 7741 payload descriptor).
func vp8PacketKeyframe(b []byte) bool {
	if len(b) < 1 || b[0]&0x10 == 0 || b[0]&0x07 != 0 { // S bit, partition 0
		return false
	}
	i := 1
	if b[0]&0x80 != 0 { // X
		if len(b) < 2 {
			return false
		}
		x := b[1]
		i++
		if x&0x80 != 0 { // I
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	return len(b) > i && b[i]&0x01 == 0
}

// h264PacketKeyframe: an IDR NAL, alone, in a STAP-A, or starting a FU-A.
func h264PacketKeyframe(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[0] & 0x1F {
	case 5:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			if i+2 < len(b) && b[i+2]&0x1F == 5 {
				return true
			}
			i += 2 + n
		}
	case 28: // FU-A
		return b[1]&0x80 != 0 && b[1]&0x1F == 5
	}
	return false
}

func (s *testServer) delete(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		jsonError(w, http.StatusUnauthorized, "invalid or missing token")
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	sess := s.sessions[id]
	gone := s.deleted[id]
	s.deleted[id] = true
	s.mu.Unlock()
	if sess == nil || gone {
		jsonError(w, http.StatusNotFound, "no such session")
		return
	}
	_ = sess.pc.Close()
	w.WriteHeader(http.StatusOK)
}

// session returns the session with this id (sessions are numbered from 1)
// and whether it was deleted.
func (s *testServer) session(id int) (*testSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprint(id)
	return s.sessions[key], s.deleted[key]
}

func (s *testServer) close() {
	s.srv.Close()
	s.mu.Lock()
	all := make([]*testSession, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		_ = sess.pc.Close()
		done := make(chan struct{})
		go func() { sess.readers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.t.Errorf("session %s readers did not stop", sess.id)
		}
	}
}
