package publisher

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWHEPView(t *testing.T) {
	srv := newTestServer(t, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	pub := make(chan result, 1)
	go func() {
		st, err := Publish(pubCtx, Options{URL: srv.url("whip"), Token: testToken, TestPattern: true, Codec: "h264"})
		pub <- result{st, err}
	}()
	// Wait until the publisher's video reaches the server.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if sess, _ := srv.session(1); sess != nil && sess.videoFrames.Load() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("publisher never reached the server")
		}
		time.Sleep(50 * time.Millisecond)
	}

	vs, err := WHEPView(ctx, srv.url("whep"), testToken, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stopPub()
	r := <-pub
	if r.err != nil {
		t.Fatalf("publish: %v", r.err)
	}
	t.Logf("view %+v; publisher %+v", vs, r.st)
	if !strings.EqualFold(vs.VideoCodec, "video/H264") {
		t.Errorf("codec %q", vs.VideoCodec)
	}
	// ~90 at 30 fps; a loaded machine makes the live encoder drop frames.
	if vs.VideoFrames < 30 || vs.VideoFrames > 100 {
		t.Errorf("viewer got %d frames in 3 s, want 30..100", vs.VideoFrames)
	}
	if vs.Keyframes < 1 {
		t.Error("viewer got no keyframe")
	}
	if vs.AudioPackets < 110 || vs.AudioPackets > 170 {
		t.Errorf("viewer got %d audio packets in 3 s, want ~150", vs.AudioPackets)
	}
	if r.st.PLIsReceived < 1 {
		t.Error("the viewer's keyframe request never reached the publisher")
	}
	if _, deleted := srv.session(2); !deleted {
		t.Error("WHEP session not deleted")
	}
}

func TestWHEPViewErrors(t *testing.T) {
	srv := newTestServer(t, testToken)
	_, err := WHEPView(context.Background(), srv.url("whep"), "wrong", time.Second)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("bad token: err = %v", err)
	}
	_, err = WHEPView(context.Background(), srv.url("whep"), testToken, time.Second)
	if !errors.As(err, &he) || he.Status != http.StatusNotFound || he.Message != "nobody publishes" {
		t.Fatalf("empty room: err = %v", err)
	}
	if _, err := WHEPView(context.Background(), "", testToken, time.Second); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("no url: err = %v", err)
	}
}
