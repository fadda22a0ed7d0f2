package e2e

import (
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// outageDuringRecordingWith records for a while, takes a service down for 30 s
// in the middle, brings it back, stops, and checks that the ready recording
// holds every segment once, intact, for as long as it ran.
func outageDuringRecordingWith(t *testing.T, room string, down, up func(*server)) {
	s := startServer(t, "--segment-duration", "2s")
	rec := s.startRecording(room, nil)
	start := time.Now()
	pub := s.publish(room, filepath.Join(testenv.Inputs(t), "p2.webm"), "10s")
	time.Sleep(3 * time.Second)
	down(s)
	time.Sleep(30 * time.Second)
	up(s)
	time.Sleep(3 * time.Second)
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, nil); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	wall := time.Since(start).Seconds()
	waitProc(t, pub, 30*time.Second)
	ready := s.waitState(rec.ID, "ready", 120*time.Second)
	info := checkStored(t, s, room, ready)
	t.Logf("recorded %.2f s with a 30 s outage: %d segments, composite %.2f s", wall, ready.Segments, info.Duration)
	if math.Abs(info.Duration-wall) > 1.5 {
		t.Errorf("composite lasts %.2f s, the recording ran %.2f s", info.Duration, wall)
	}
	if ready.Segments < int(wall/2)-2 {
		t.Errorf("%d segments of 2 s for %.0f s", ready.Segments, wall)
	}
}

// TestS3DownDuringRecording: the object store stopped for 30 s while a
// recording runs, then back: all segments arrive, each once.
func TestS3DownDuringRecording(t *testing.T) {
	outageDuringRecordingWith(t, "s3down", func(s *server) { s.s3.Stop() }, func(s *server) { s.s3.Start() })
}

// TestRedisDownDuringRecording: Redis (queue and catalog) stopped for 30 s
// while a recording runs, then back: the tasks kept in the outbox run and
// all segments arrive.
func TestRedisDownDuringRecording(t *testing.T) {
	outageDuringRecordingWith(t, "redisdown", func(s *server) { s.redis.Stop() }, func(s *server) { s.redis.Start() })
}
