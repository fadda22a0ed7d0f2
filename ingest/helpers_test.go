package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/webrtc/v4"
)

// testRooms is a room registry for tests: it keeps every sink, counts
// packets and sender reports, and serves a live composite from a real H264
// encoding.
type testRooms struct {
	mu     sync.Mutex
	full   map[string]bool
	refuse map[media.Kind]bool // AddTrack refuses tracks of these kinds
	sinks  []*testSink
	joined []Participant
	left   chan string
	lives  map[string]*testLive
}

func newTestRooms() *testRooms {
	return &testRooms{full: map[string]bool{}, refuse: map[media.Kind]bool{}, left: make(chan string, 16),
		lives: map[string]*testLive{}}
}

func (r *testRooms) Join(_ context.Context, room string, p Participant) (Room, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full[room] {
		return nil, ErrRoomFull
	}
	r.joined = append(r.joined, p)
	return &testRoom{r: r, name: room}, nil
}

func (r *testRooms) Watch(_ context.Context, room, viewerID string) (Live, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.lives[room]
	if !ok {
		return nil, ErrNoSuchRoom
	}
	l.viewers++
	return &testLiveView{l: l}, nil
}

type testRoom struct {
	r    *testRooms
	name string
}

func (tr *testRoom) AddTrack(info media.TrackInfo, requestKeyframe func()) (media.TrackSink, error) {
	s := &testSink{info: info, requestKeyframe: requestKeyframe, closed: make(chan struct{})}
	tr.r.mu.Lock()
	if tr.r.refuse[info.Kind] {
		tr.r.mu.Unlock()
		return nil, errors.New("track refused")
	}
	tr.r.sinks = append(tr.r.sinks, s)
	tr.r.mu.Unlock()
	return s, nil
}

func (tr *testRoom) Leave(id string) {
	select {
	case tr.r.left <- id:
	default: // nobody is looking (fuzzing)
	}
}

// testSink keeps a track's packets and sender reports.
type testSink struct {
	info            media.TrackInfo
	requestKeyframe func()
	mu              sync.Mutex
	packets         [][]byte
	srs             []media.SenderReport
	closed          chan struct{}
	closeOnce       sync.Once
	claimed         bool // taken by firstSink (guarded by testRooms.mu)
}

func (s *testSink) WriteRTP(p []byte) error {
	s.mu.Lock()
	s.packets = append(s.packets, p)
	s.mu.Unlock()
	return nil
}

func (s *testSink) WriteSenderReport(sr media.SenderReport) {
	s.mu.Lock()
	s.srs = append(s.srs, sr)
	s.mu.Unlock()
}

func (s *testSink) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

func (s *testSink) counts() (packets, srs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.packets), len(s.srs)
}

// testLive plays pre-encoded H264 access units at 30 fps into a stream
// while anyone watches.
type testLive struct {
	stream    *media.Stream
	aus       [][]byte
	mu        sync.Mutex
	viewers   int
	left      int
	keyframes int
	stop      chan struct{}
	done      chan struct{}
}

func (r *testRooms) addLive(t *testing.T, room string) *testLive {
	l := &testLive{stream: media.NewStream(), aus: h264AccessUnits(t), stop: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.lives[room] = l
	r.mu.Unlock()
	go l.play()
	t.Cleanup(func() {
		close(l.stop)
		<-l.done
	})
	return l
}

func (l *testLive) play() {
	defer close(l.done)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			l.stream.Close()
			return
		case <-tick.C:
		}
		au := l.aus[i%len(l.aus)]
		pts := time.Duration(i) * time.Second / 30
		l.stream.Publish(media.Sample{Kind: media.Video, Codec: media.H264, Data: au, PTS: pts, DTS: pts,
			Duration: time.Second / 30, Keyframe: h264Keyframe(au)})
		// Opus silence frame (TOC 0xf8: CELT FB 20 ms, mono, one frame).
		l.stream.Publish(media.Sample{Kind: media.Audio, Codec: media.Opus, Data: []byte{0xf8, 0xff, 0xfe},
			PTS: pts, Duration: 20 * time.Millisecond})
	}
}

type testLiveView struct{ l *testLive }

func (v *testLiveView) Output() *media.Stream { return v.l.stream }
func (v *testLiveView) RequestKeyframe() {
	v.l.mu.Lock()
	v.l.keyframes++
	v.l.mu.Unlock()
}
func (v *testLiveView) Leave() {
	v.l.mu.Lock()
	v.l.left++
	v.l.mu.Unlock()
}

func (l *testLive) stats() (keyframes, left int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keyframes, l.left
}

// h264Keyframe reports whether an Annex-B access unit holds an IDR slice.
func h264Keyframe(au []byte) bool {
	for _, nal := range splitAnnexB(au) {
		if len(nal) > 0 && nal[0]&0x1f == 5 {
			return true
		}
	}
	return false
}

func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			break
		}
		b = b[i+3:]
		j := bytes.Index(b, []byte{0, 0, 1})
		if j < 0 {
			out = append(out, b)
			break
		}
		nal := b[:j]
		nal = bytes.TrimRight(nal, "\x00")
		out = append(out, nal)
		b = b[j:]
	}
	return out
}

// fixtures are media files made once per test binary.
var fixtures struct {
	once sync.Once
	dir  string
	err  error
}

func fixtureDir(t *testing.T) string {
	t.Helper()
	fixtures.once.Do(func() {
		fixtures.dir, fixtures.err = os.MkdirTemp("", "ingest-fixtures-")
		if fixtures.err != nil {
			return
		}
		run := func(args ...string) {
			if fixtures.err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
			if err != nil {
				fixtures.err = err
				fixtures.dir = string(out)
			}
		}
		d := fixtures.dir
		run("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4", "-c:v", "libx264",
			"-profile:v", "baseline", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
			"-x264-params", "aud=1:repeat-headers=1", "-bsf:v", "h264_mp4toannexb", "-f", "h264",
			filepath.Join(d, "video.h264"))
		run("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4", "-c:v", "libvpx",
			"-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "300k", "-f", "ivf",
			filepath.Join(d, "video.ivf"))
		run("-f", "lavfi", "-i", "sine=frequency=1760:sample_rate=48000", "-t", "4", "-c:a", "libopus",
			"-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", filepath.Join(d, "audio.ogg"))
	})
	if fixtures.err != nil {
		t.Fatalf("make fixtures: %v: %s", fixtures.err, fixtures.dir)
	}
	return fixtures.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" && fixtures.err == nil {
		_ = os.RemoveAll(fixtures.dir)
	}
	if simulcastFixtures.dir != "" {
		_ = os.RemoveAll(simulcastFixtures.dir)
	}
	os.Exit(code)
}

// h264AccessUnits splits the fixture at its access unit delimiters.
func h264AccessUnits(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), "video.h264"))
	if err != nil {
		t.Fatal(err)
	}
	aud := []byte{0, 0, 0, 1, 9}
	var aus [][]byte
	for len(b) > 0 {
		next := bytes.Index(b[1:], aud)
		if next < 0 {
			aus = append(aus, b)
			break
		}
		aus = append(aus, b[:next+1])
		b = b[next+1:]
	}
	if len(aus) < 60 || !h264Keyframe(aus[0]) {
		t.Fatalf("fixture has %d access units (first keyframe %v)", len(aus), len(aus) > 0 && h264Keyframe(aus[0]))
	}
	return aus
}

// harness is an ingest server behind httptest with a token issuer.
type harness struct {
	srv    *Server
	http   *httptest.Server
	issuer *auth.Issuer
	rooms  *testRooms
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith lets configure change the server's configuration.
func newHarnessWith(t testing.TB, configure func(*Config)) *harness {
	t.Helper()
	iss, err := auth.NewIssuer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	rooms := newTestRooms()
	cfg := Config{
		Issuer: iss, Rooms: rooms,
		ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}},
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := newHTTPServer(t, mux)
	h := &harness{srv: srv, http: hs, issuer: iss, rooms: rooms}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return h
}

// newHTTPServer serves mux until the test ends.
func newHTTPServer(t testing.TB, mux *http.ServeMux) *httptest.Server {
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs
}

func (h *harness) token(t testing.TB, room string, role auth.Role) string {
	t.Helper()
	tok, err := h.issuer.Mint(room, "alice", role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request and returns the response with its body read.
func (h *harness) do(t *testing.T, method, path, token, ctype string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// jsonError checks an error response's JSON body and returns its message.
func jsonError(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error content type %q, want application/json (body %s)", ct, body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("error body %q is not {\"error\": …}: %v", body, err)
	}
	return e.Error
}

// clientAPI is a plain pion API for test peers (UDP4 only, on its own ports).
func clientAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// offerOf creates an offer and waits for its candidates.
func offerOf(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	off, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(off); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g:
	case <-time.After(20 * time.Second):
		t.Fatal("client ICE gathering timed out")
	}
	return pc.LocalDescription().SDP
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ffprobeStream is one stream of a file as ffprobe decodes it.
type ffprobeStream struct {
	CodecType  string `json:"codec_type"`
	CodecName  string `json:"codec_name"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	ReadFrames string `json:"nb_read_frames"`
}

func probe(t *testing.T, path string) []ffprobeStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []ffprobeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	return res.Streams
}

func hasLine(sdp, prefix string) bool {
	for _, l := range strings.Split(sdp, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return true
		}
	}
	return false
}

// frameSize is the size of the first decoded video frame of a file.
func frameSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-read_intervals", "%+#1", "-show_entries", "frame=width,height", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe frames %s: %v", path, err)
	}
	var res struct {
		Frames []struct{ Width, Height int } `json:"frames"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Frames) == 0 {
		t.Fatalf("no decoded frame in %s: %s %v", path, out, err)
	}
	return res.Frames[0].Width, res.Frames[0].Height
}
