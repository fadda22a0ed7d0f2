package ingest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// testPublisher is a pion WHIP client sending the VP8 and Opus fixtures in
// a loop.
type testPublisher struct {
	pc           *webrtc.PeerConnection
	video, audio *webrtc.TrackLocalStaticSample
	videoSender  *webrtc.RTPSender
	videoMime    string
	location     string
	etag         string
	plis         atomic.Int32
	stop         chan struct{}
	stopOnce     sync.Once
	wg           sync.WaitGroup
}

func newTestPublisher(t *testing.T) *testPublisher {
	t.Helper()
	return newTestPublisherOn(t, clientAPI(), webrtc.MimeTypeVP8)
}

func newTestPublisherOn(t *testing.T, api *webrtc.API, videoMime string) *testPublisher {
	t.Helper()
	return newTestPublisherWith(t, api, videoMime, webrtc.Configuration{})
}

func newTestPublisherWith(t *testing.T, api *webrtc.API, videoMime string, cfg webrtc.Configuration) *testPublisher {
	t.Helper()
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPublisher{pc: pc, stop: make(chan struct{}), videoMime: videoMime}
	t.Cleanup(p.close)
	p.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: videoMime}, "cam", "alice")
	if err != nil {
		t.Fatal(err)
	}
	p.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "alice")
	if err != nil {
		t.Fatal(err)
	}
	vt, err := pc.AddTransceiverFromTrack(p.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	p.videoSender = vt.Sender()
	at, err := pc.AddTransceiverFromTrack(p.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	p.wg.Add(2)
	go p.readRTCP(p.videoSender, true)
	go p.readRTCP(at.Sender(), false)
	return p
}

func (p *testPublisher) readRTCP(s *webrtc.RTPSender, count bool) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			if pli, ok := pkt.(*rtcp.PictureLossIndication); ok && count &&
				pli.MediaSSRC == uint32(s.GetParameters().Encodings[0].SSRC) {
				p.plis.Add(1)
			}
		}
	}
}

// selectedRemote is the server's candidate the connection uses.
func (p *testPublisher) selectedRemote(t *testing.T) webrtc.ICECandidate {
	t.Helper()
	pair, err := p.videoSender.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	return *pair.Remote
}

// publish posts the offer and applies the answer; it returns the response
// for the caller's checks.
func (p *testPublisher) publish(t *testing.T, h *harness, room, token string) *http.Response {
	t.Helper()
	offer := offerOf(t, p.pc)
	resp, body := h.do(t, http.MethodPost, "/rooms/"+room+"/whip", token, "application/sdp", []byte(offer))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: status %d: %s", resp.StatusCode, body)
	}
	p.location = resp.Header.Get("Location")
	p.etag = resp.Header.Get("ETag")
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatalf("apply answer: %v", err)
	}
	return resp
}

// send streams the fixtures in real time until close.
func (p *testPublisher) send(t *testing.T) {
	t.Helper()
	dir := fixtureDir(t)
	var aus [][]byte
	if p.videoMime == webrtc.MimeTypeH264 {
		aus = h264AccessUnits(t)
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		if aus != nil {
			p.loop(func() error { return sendAUs(aus, p.video, p.stop) })
			return
		}
		p.loop(func() error { return sendIVF(filepath.Join(dir, "video.ivf"), p.video, p.stop) })
	}()
	go func() {
		defer p.wg.Done()
		p.loop(func() error { return sendOgg(filepath.Join(dir, "audio.ogg"), p.audio, p.stop) })
	}()
}

func (p *testPublisher) loop(f func() error) {
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		if err := f(); err != nil {
			return
		}
	}
}

func (p *testPublisher) close() {
	p.stopOnce.Do(func() {
		close(p.stop)
		_ = p.pc.Close()
		p.wg.Wait()
	})
}

var errStopped = errors.New("stopped")

func sendIVF(path string, track *webrtc.TrackLocalStaticSample, stop <-chan struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-stop:
			return errStopped
		case <-tick.C:
		}
		if err := track.WriteSample(pmedia.Sample{Data: frame, Duration: time.Second / 30}); err != nil {
			return err
		}
	}
}

func sendAUs(aus [][]byte, track *webrtc.TrackLocalStaticSample, stop <-chan struct{}) error {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for _, au := range aus {
		select {
		case <-stop:
			return errStopped
		case <-tick.C:
		}
		if err := track.WriteSample(pmedia.Sample{Data: au, Duration: time.Second / 30}); err != nil {
			return err
		}
	}
	return nil
}

func sendOgg(path string, track *webrtc.TrackLocalStaticSample, stop <-chan struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last uint64
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.GranulePosition == 0 || len(page) == 0 || isOggHeader(page) {
			continue
		}
		samples := hdr.GranulePosition - last
		last = hdr.GranulePosition
		select {
		case <-stop:
			return errStopped
		case <-tick.C:
		}
		d := time.Duration(samples) * time.Second / 48000
		if err := track.WriteSample(pmedia.Sample{Data: page, Duration: d}); err != nil {
			return err
		}
	}
}

func isOggHeader(page []byte) bool {
	return len(page) >= 8 && (string(page[:8]) == "OpusHead" || string(page[:8]) == "OpusTags")
}
