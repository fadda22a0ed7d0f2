package publisher

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Cancelling ctx is a normal stop: no error, the session is deleted.
func TestPublishCancel(t *testing.T) {
	srv := newTestServer(t, testToken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if sess, _ := srv.session(1); sess != nil && sess.videoFrames.Load() >= 30 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	st, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, File: clip(t)})
	if err != nil {
		t.Fatalf("cancelled publish: %v", err)
	}
	if st.VideoFrames < 30 || st.VideoFrames > 90 {
		t.Errorf("sent %d video frames before the cancel, want 30..90", st.VideoFrames)
	}
	if _, deleted := srv.session(1); !deleted {
		t.Error("session not deleted after cancel")
	}
}

// A server that drops the peer ends the publish with ErrConnectionFailed.
func TestPublishServerHangsUp(t *testing.T) {
	srv := newTestServer(t, testToken)
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if sess, _ := srv.session(1); sess != nil && sess.videoFrames.Load() >= 10 {
				_ = sess.pc.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	_, err := Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, TestPattern: true})
	if !errors.Is(err, ErrConnectionFailed) {
		t.Fatalf("err = %v, want ErrConnectionFailed", err)
	}
	t.Logf("noticed the hang-up after %v", time.Since(began))
}
