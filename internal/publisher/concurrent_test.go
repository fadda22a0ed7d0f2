package publisher

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Load tools run many publishers in one process: test patterns included.
func TestPublishConcurrentTestPatterns(t *testing.T) {
	srv := newTestServer(t, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 3
	var wg sync.WaitGroup
	stats := make([]Stats, n)
	errs := make([]error, n)
	codecs := []string{"vp8", "h264", "vp8"}
	for i := range n {
		wg.Go(func() {
			stats[i], errs[i] = Publish(ctx, Options{URL: srv.url("whip"), Token: testToken, TestPattern: true,
				Codec: codecs[i], Duration: 2 * time.Second})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("publisher %d: %v", i, errs[i])
			continue
		}
		t.Logf("publisher %d (%s): %d video / %d audio frames", i, codecs[i], stats[i].VideoFrames, stats[i].AudioFrames)
		if stats[i].VideoFrames < 10 || stats[i].AudioFrames < 50 {
			t.Errorf("publisher %d sent %d video / %d audio frames", i, stats[i].VideoFrames, stats[i].AudioFrames)
		}
	}
	for id := 1; id <= n; id++ {
		sess, deleted := srv.session(id)
		if sess == nil || !deleted || sess.videoFrames.Load() < 10 || sess.audioPackets.Load() < 50 {
			t.Errorf("server session %d: %v deleted %v", id, sess != nil, deleted)
		}
	}
}
