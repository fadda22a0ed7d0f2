package mixer

import (
	"context"
	"errors"
	"image"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// peakLevel decodes a file's audio and returns the largest absolute sample.
func peakLevel(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vn", "-f", "s16le", "-ac", "1", "-").Output()
	if err != nil {
		t.Fatalf("decode audio: %v", err)
	}
	if len(out) < 48000 {
		t.Fatalf("only %d bytes of audio", len(out))
	}
	peak := 0
	for i := 0; i+1 < len(out); i += 2 {
		v := int(int16(uint16(out[i]) | uint16(out[i+1])<<8))
		peak = max(peak, v, -v)
	}
	return peak
}

func TestEmptyRoomIsBlackAndSilent(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180})
	rec := startRecording(t, m)
	time.Sleep(2500 * time.Millisecond)
	path := rec.write(t, t.TempDir())
	if d := checkStreams(t, path, 320, 180); d < 1.5 || d > 4 {
		t.Fatalf("duration %.2f s, want about 2.5 s", d)
	}
	frames := mediatest.Frames(t, path, 320, 180, 10)
	if len(frames) < 15 {
		t.Fatalf("%d frames, want about 25", len(frames))
	}
	for i, fr := range frames {
		if !mediatest.IsBlack(fr, 320, image.Rect(0, 0, 320, 180)) {
			t.Fatalf("frame %d is not black", i)
		}
	}
	if peak := peakLevel(t, path); peak > 100 {
		t.Fatalf("audio peak %d, want silence", peak)
	}
}

// TestJoinLateLeaveEarly: p1 is there throughout; p2 joins after 1.5 s and
// leaves after 2 s more. The output keeps flowing, the layout goes 1 → 2 → 1
// tiles, and the composite lasts as long as the room did.
func TestJoinLateLeaveEarly(t *testing.T) {
	clips := testenv.Inputs(t)
	const w, h = 640, 360
	m := newMixer(t, Config{Width: w, Height: h, VideoBitrateKbps: 1500})
	rec := startRecording(t, m)
	began := time.Now()
	f1 := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "p1", Duration: 6 * time.Second})
	time.Sleep(1500 * time.Millisecond)
	f2 := startFeed(t, m, filepath.Join(clips, "p2.webm"), feedOptions{Participant: "p2", Duration: 2 * time.Second})
	f2.wait(20 * time.Second)
	if st := m.Stats(); st.Inputs != 2 {
		t.Fatalf("after p2 left: %d inputs, want 2 (p1's)", st.Inputs)
	}
	f1.wait(30 * time.Second)
	elapsed := time.Since(began).Seconds()
	path := rec.write(t, t.TempDir())
	d := checkStreams(t, path, w, h)
	if d < 5.5 || d > elapsed+1 {
		t.Fatalf("duration %.2f s, want 5.5..%.1f s", d, elapsed+1)
	}
	frames := mediatest.Frames(t, path, w, h, 10)
	top := image.Rect(40, 10, 600, 80) // covered by a full-picture tile, black bars with two tiles
	right := image.Rect(w/2+20, h/2-60, w-20, h/2+60)
	shows := func(from, to float64, region image.Rectangle) (lit, all int) {
		for i := int(from * 10); i < int(to*10) && i < len(frames); i++ {
			all++
			if !mediatest.IsBlack(frames[i], w, region) {
				lit++
			}
		}
		return lit, all
	}
	if lit, all := shows(0.5, 1.3, top); lit*2 < all {
		t.Fatalf("before p2 joined: p1 full picture in %d of %d frames", lit, all)
	}
	if lit, all := shows(2.3, 3.2, top); lit*2 > all {
		t.Fatalf("with p2: top band lit in %d of %d frames, want letterboxed side-by-side tiles", lit, all)
	}
	if lit, all := shows(2.3, 3.2, right); lit*2 < all {
		t.Fatalf("with p2: right tile lit in %d of %d frames", lit, all)
	}
	if lit, all := shows(4.5, 5.5, top); lit*2 < all {
		t.Fatalf("after p2 left: p1 full picture in %d of %d frames", lit, all)
	}
}

func TestRequestKeyframe(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180, KeyframeInterval: time.Minute})
	r := m.Output().Subscribe("keyframes", 1024)
	defer r.Close()
	keyframes := func(d time.Duration) int {
		n := 0
		deadline := time.After(d)
		for {
			select {
			case s := <-r.C:
				if s.Kind == media.Video && s.Keyframe {
					n++
				}
			case <-deadline:
				return n
			}
		}
	}
	if n := keyframes(1500 * time.Millisecond); n < 1 {
		t.Fatalf("no keyframe after subscribing")
	}
	if n := keyframes(1500 * time.Millisecond); n != 0 {
		t.Fatalf("%d keyframes without a request (interval 1 min)", n)
	}
	for range 5 {
		m.RequestKeyframe() // rate-limited: one now, at most one deferred
	}
	if n := keyframes(1500 * time.Millisecond); n < 1 || n > 2 {
		t.Fatalf("%d keyframes after 5 quick requests, want 1 or 2", n)
	}
}

func TestTrackAsksForKeyframe(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180})
	var asked atomic.Int32
	sink, err := m.AddTrack(media.TrackInfo{Participant: "p", TrackID: "v", Kind: media.Video, MimeType: "video/VP8",
		ClockRate: 90000, PayloadType: 96}, func() { asked.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	deadline := time.Now().Add(5 * time.Second)
	for asked.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if asked.Load() == 0 {
		t.Fatal("a new video track did not ask for a keyframe")
	}
}

func TestBadInputIsRejected(t *testing.T) {
	m := newMixer(t, Config{Width: 320, Height: 180})
	for _, info := range []media.TrackInfo{
		{Kind: media.Audio, MimeType: "audio/PCMU", ClockRate: 8000},
		{Kind: media.Video, MimeType: "video/AV1"},
		{Kind: media.Audio, MimeType: "video/VP8"},
		{},
	} {
		if _, err := m.AddTrack(info, nil); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("AddTrack(%q, %q) = %v, want ErrUnsupportedCodec", info.Kind, info.MimeType, err)
		}
	}
	sink, err := m.AddTrack(media.TrackInfo{Participant: "p", Kind: media.Audio, MimeType: "audio/opus", ClockRate: 48000, PayloadType: 111}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range [][]byte{nil, {0x80, 111}, make([]byte, 11), append([]byte{0x40}, make([]byte, 20)...)} {
		if err := sink.WriteRTP(pkt); !errors.Is(err, ErrBadPacket) {
			t.Errorf("WriteRTP(%x) = %v, want ErrBadPacket", pkt, err)
		}
	}
	sink.WriteSenderReport(media.SenderReport{}) // no packets yet: ignored
	if err := sink.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := sink.WriteRTP(make([]byte, 20)); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteRTP after Close = %v, want ErrClosed", err)
	}
	if st := m.Stats(); st.Inputs != 0 || st.PacketsDropped < 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	m, err := New(Config{Room: "close", Width: 320, Height: 180})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Output().Subscribe("r", 4096)
	sink, err := m.AddTrack(media.TrackInfo{Participant: "p", Kind: media.Video, MimeType: "video/VP8", ClockRate: 90000, PayloadType: 96}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for range r.C { // must end: Output is closed
	}
	if err := sink.WriteRTP(make([]byte, 20)); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteRTP after mixer Close = %v, want ErrClosed", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("track Close after mixer Close: %v", err)
	}
	if _, err := m.AddTrack(media.TrackInfo{Kind: media.Audio, MimeType: "audio/opus"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("AddTrack after Close = %v, want ErrClosed", err)
	}
	if err := m.SetLayout(Layout{Kind: LayoutGrid}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetLayout after Close = %v, want ErrClosed", err)
	}
}

// TestFailedTrackLeavesTheRoomRunning: an error inside one track's branch
// removes that track only; the other participant and the output go on.
func TestFailedTrackLeavesTheRoomRunning(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{Width: 320, Height: 180})
	good := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "good", NoAudio: true, Duration: 4 * time.Second})
	bad, err := m.AddTrack(media.TrackInfo{Participant: "bad", TrackID: "v", Kind: media.Video, MimeType: "video/VP8", ClockRate: 90000, PayloadType: 96}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := m.pipeline.GetElementByNameRecursive("in2-dec")
	if err != nil {
		t.Fatalf("bad track's decoder: %v", err)
	}
	dec.ErrorMessage(gst.DomainStream, gst.StreamErrorDecode, "broken stream", "injected by the test")
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().InputsFailed == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := m.Stats(); st.InputsFailed != 1 || st.Inputs != 1 {
		t.Fatalf("stats %+v, want the failed track removed and the good one mixed", st)
	}
	if err := bad.WriteRTP(make([]byte, 20)); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteRTP on failed track = %v, want ErrClosed", err)
	}
	if err := bad.Close(); err != nil {
		t.Fatalf("Close failed track: %v", err)
	}
	r := m.Output().Subscribe("after", 256)
	defer r.Close()
	frames := 0
	timeout := time.After(5 * time.Second)
	for frames < 15 {
		select {
		case s := <-r.C:
			if s.Kind == media.Video {
				frames++
			}
		case <-timeout:
			t.Fatalf("only %d video frames in 5 s after the failure", frames)
		}
	}
	good.wait(20 * time.Second)
}

// TestStalledTrackDoesNotStallTheRoom: a participant that stops sending
// (without leaving) does not hold back the composite.
func TestStalledTrackDoesNotStallTheRoom(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{Width: 320, Height: 180})
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Duration: time.Second})
	select {
	case <-f.done: // sent its second, then silence; the tracks stay in the room
	case <-time.After(20 * time.Second):
		t.Fatal("feed did not finish")
	}
	if st := m.Stats(); st.Inputs != 2 {
		t.Fatalf("%d inputs, want the stalled participant's 2", st.Inputs)
	}
	r := m.Output().Subscribe("after-stall", 1024)
	defer r.Close()
	counts := map[media.Codec]int{}
	timeout := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case s := <-r.C:
			counts[s.Codec]++
		case <-timeout:
			done = true
		}
	}
	if counts[media.H264] < 40 || counts[media.AAC] < 70 {
		t.Fatalf("in 2 s after the stall: %v samples, want ~60 video and ~94 AAC", counts)
	}
}

// TestResolutionChange: a sender switching from 16:9 to 4:3 mid-stream (as
// WebRTC senders do under congestion) keeps its tile, now pillarboxed.
func TestResolutionChange(t *testing.T) {
	const w, h = 320, 180
	m := newMixer(t, Config{Width: w, Height: h})
	rec := startRecording(t, m)
	f := startFeed(t, m, "", feedOptions{Pattern: "white", Duration: 3 * time.Second})
	time.Sleep(1500 * time.Millisecond)
	res, err := f.pipeline.GetElementByName("res")
	if err != nil {
		t.Fatal(err)
	}
	res.SetArg("caps", "video/x-raw,width=320,height=240,framerate=30/1")
	f.wait(20 * time.Second)
	path := rec.write(t, t.TempDir())
	frames := mediatest.Frames(t, path, w, h, 10)
	edge, centre := image.Rect(2, 10, 30, h-50), image.Rect(w/2-40, 20, w/2+40, h-20) // the name is at the bottom left
	count := func(from, to float64, region image.Rectangle) (lit, all int) {
		for i := int(from * 10); i < int(to*10) && i < len(frames); i++ {
			all++
			if !mediatest.IsBlack(frames[i], w, region) {
				lit++
			}
		}
		return lit, all
	}
	if lit, all := count(0.5, 1.3, edge); lit*2 < all {
		t.Fatalf("16:9: edge lit in %d of %d frames, want the full picture", lit, all)
	}
	if lit, all := count(2.2, 2.9, edge); lit*2 > all {
		t.Fatalf("4:3: edge lit in %d of %d frames, want pillarbox bars", lit, all)
	}
	if lit, all := count(2.2, 2.9, centre); lit*2 < all {
		t.Fatalf("4:3: centre lit in %d of %d frames, want the picture", lit, all)
	}
}

// TestCloseWhileParticipantsSend: Close in the middle of a conversation is
// quick and leaves the senders with ErrClosed.
func TestCloseWhileParticipantsSend(t *testing.T) {
	clips := testenv.Inputs(t)
	m, err := New(Config{Room: "busy", Width: 320, Height: 180})
	if err != nil {
		t.Fatal(err)
	}
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{})
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
	for _, s := range f.sinks {
		if err := s.WriteRTP(make([]byte, 20)); !errors.Is(err, ErrClosed) {
			t.Fatalf("WriteRTP after Close = %v, want ErrClosed", err)
		}
	}
	select {
	case <-f.done: // the feed stops on ErrClosed
	case <-time.After(10 * time.Second):
		t.Fatal("feed still running after the mixer closed")
	}
}
