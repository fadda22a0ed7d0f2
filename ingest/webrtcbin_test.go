package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/gstsdp"
	"github.com/go-gst/go-gst/gst/gstwebrtc"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
)

var gstInit sync.Once

// gstPublisher is a GStreamer WHIP client: videotestsrc, x264enc and
// rtph264pay into webrtcbin.
type gstPublisher struct {
	pipeline *gst.Pipeline
	webrtc   *gst.Element
}

func gstElement(t *testing.T, factory string, props map[string]any) *gst.Element {
	t.Helper()
	el, err := gst.NewElement(factory)
	if err != nil {
		t.Fatalf("element %s: %v", factory, err)
	}
	for k, v := range props {
		if _, err := el.GetPropertyType(k); err != nil {
			t.Fatalf("%s has no property %s", factory, k)
		}
		el.SetArg(k, fmt.Sprint(v))
	}
	return el
}

func newGstPublisher(t *testing.T) *gstPublisher {
	t.Helper()
	gstInit.Do(func() { gst.Init(nil) })
	pl, err := gst.NewPipeline("webrtcbin-whip")
	if err != nil {
		t.Fatal(err)
	}
	els := []*gst.Element{
		gstElement(t, "videotestsrc", map[string]any{"is-live": true, "pattern": "ball"}),
		gstElement(t, "capsfilter", map[string]any{"caps": "video/x-raw,width=320,height=240,framerate=30/1,format=I420"}),
		gstElement(t, "x264enc", map[string]any{"tune": "zerolatency", "speed-preset": "ultrafast", "key-int-max": 30, "bitrate": 600,
			"aud": false}), // h264writer starts at a STAP-A that begins with the SPS
		// High profile: pion matches profile-level-id on its first two
		// bytes, and x264's constrained baseline (42c0) is not offered.
		gstElement(t, "capsfilter", map[string]any{"caps": "video/x-h264,profile=high"}),
		gstElement(t, "rtph264pay", map[string]any{"config-interval": -1, "pt": 108, "aggregate-mode": "zero-latency"}),
		gstElement(t, "capsfilter", map[string]any{"caps": "application/x-rtp,media=video,encoding-name=H264,payload=108,clock-rate=90000"}),
	}
	wb := gstElement(t, "webrtcbin", map[string]any{"bundle-policy": "max-bundle"})
	if err := pl.AddMany(append(els, wb)...); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(els); i++ {
		if err := els[i].Link(els[i+1]); err != nil {
			t.Fatalf("link %s → %s: %v", els[i].GetName(), els[i+1].GetName(), err)
		}
	}
	if err := els[len(els)-1].Link(wb); err != nil {
		t.Fatalf("link to webrtcbin: %v", err)
	}
	p := &gstPublisher{pipeline: pl, webrtc: wb}
	t.Cleanup(p.close)
	return p
}

// play starts the pipeline and fails on a bus error.
func (p *gstPublisher) play(t *testing.T) {
	t.Helper()
	if err := p.pipeline.SetState(gst.StatePlaying); err != nil {
		t.Fatalf("play: %v", err)
	}
	if ret, st := p.pipeline.GetState(gst.StatePlaying, gst.ClockTime(10*time.Second)); ret == gst.StateChangeFailure {
		t.Fatalf("pipeline did not reach PLAYING (%s)", st)
	}
	p.checkBus(t)
}

// checkBus fails the test on an ERROR message waiting on the bus.
func (p *gstPublisher) checkBus(t *testing.T) {
	t.Helper()
	bus := p.pipeline.GetPipelineBus()
	for {
		msg := bus.TimedPopFiltered(0, gst.MessageError|gst.MessageEOS)
		if msg == nil {
			return
		}
		if msg.Type() == gst.MessageError {
			t.Fatalf("webrtcbin pipeline error: %v", msg.ParseError())
		}
		t.Fatalf("webrtcbin pipeline ended early")
	}
}

// offer creates and applies the offer and returns it once ICE gathering
// is complete, so that it carries every candidate.
func (p *gstPublisher) offer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	promise := gst.NewPromise()
	if _, err := p.webrtc.Emit("create-offer", gst.NewStructure("options"), promise); err != nil {
		t.Fatalf("create-offer: %v", err)
	}
	reply, err := promise.Await(ctx)
	if err != nil {
		t.Fatalf("create-offer: %v", err)
	}
	v, err := reply.GetValue("offer")
	if err != nil {
		t.Fatalf("offer reply %s: %v", reply, err)
	}
	offer, ok := v.(*gstwebrtc.SessionDescription)
	if !ok {
		t.Fatalf("offer is a %T", v)
	}
	set := gst.NewPromise()
	if _, err := p.webrtc.Emit("set-local-description", offer, set); err != nil {
		t.Fatalf("set-local-description: %v", err)
	}
	if _, err := set.Await(ctx); err != nil && !errors.Is(err, gst.ErrNilPromiseReply) {
		t.Fatalf("set-local-description: %v", err)
	}
	for {
		st, err := p.webrtc.GetProperty("ice-gathering-state")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(st) == fmt.Sprint(gstwebrtc.ICE_GATHERING_STATE_COMPLETE) ||
			fmt.Sprint(st) == fmt.Sprint(int(gstwebrtc.ICE_GATHERING_STATE_COMPLETE)) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ICE gathering did not complete (state %v)", st)
		case <-time.After(50 * time.Millisecond):
		}
		p.checkBus(t)
	}
	ld, err := p.webrtc.GetProperty("local-description")
	if err != nil {
		t.Fatal(err)
	}
	sd, ok := ld.(*gstwebrtc.SessionDescription)
	if !ok || sd == nil {
		t.Fatalf("local description is a %T", ld)
	}
	return sd.ToW3SDP().Sdp
}

func (p *gstPublisher) answer(t *testing.T, sdp string) {
	t.Helper()
	msg, err := gstsdp.ParseSDPMessage(sdp)
	if err != nil {
		t.Fatalf("parse answer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	set := gst.NewPromise()
	if _, err := p.webrtc.Emit("set-remote-description", gstwebrtc.NewSessionDescription(gstwebrtc.SDP_TYPE_ANSWER, msg), set); err != nil {
		t.Fatalf("set-remote-description: %v", err)
	}
	if _, err := set.Await(ctx); err != nil && !errors.Is(err, gst.ErrNilPromiseReply) {
		t.Fatalf("set-remote-description: %v", err)
	}
}

func (p *gstPublisher) close() {
	_ = p.pipeline.SetState(gst.StateNull)
	p.pipeline.GetState(gst.StateNull, gst.ClockTime(10*time.Second))
}

// GStreamer's webrtcbin publishes H.264 over WHIP: the room gets the
// track and its packets decode to the test picture's size.
func TestWebRTCBinPublishesH264(t *testing.T) {
	h := newHarness(t)
	pub := newGstPublisher(t)
	pub.play(t)
	offer := pub.offer(t)
	if !strings.Contains(offer, "H264/90000") || !strings.Contains(offer, "a=candidate") {
		t.Fatalf("webrtcbin offer lacks H264 or candidates:\n%s", offer)
	}
	resp, body := h.do(t, http.MethodPost, "/rooms/gst/whip", h.token(t, "gst", auth.RolePublish), "application/sdp", []byte(offer))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", resp.StatusCode, body)
	}
	pub.answer(t, string(body))

	s := firstSink(t, h, media.Video)
	if s.info.MimeType != "video/H264" {
		t.Errorf("track %+v", s.info)
	}
	s.requestKeyframe() // webrtcbin turns the PLI into a keyframe upstream
	waitFor(t, "three seconds of H264 from webrtcbin", 30*time.Second, func() bool {
		pub.checkBus(t)
		s.mu.Lock()
		defer s.mu.Unlock()
		frames := 0
		for _, p := range s.packets {
			if len(p) > 1 && p[1]&0x80 != 0 { // marker: last packet of a frame
				frames++
			}
		}
		return frames >= 90
	})
	pub.close()

	file := filepath.Join(t.TempDir(), "webrtcbin.h264")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := h264writer.NewWith(f)
	s.mu.Lock()
	for _, raw := range s.packets {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil {
			t.Fatalf("unparsable RTP: %v", err)
		}
		if err := w.WriteRTP(&p); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	streams := probe(t, file)
	if len(streams) != 1 || streams[0].CodecName != "h264" || atoiOr0(streams[0].ReadFrames) < 55 {
		t.Fatalf("H264 from webrtcbin: %+v", streams)
	}
	if w, hh := frameSize(t, file); w != 320 || hh != 240 {
		t.Errorf("frames %dx%d, want 320x240", w, hh)
	}
}
