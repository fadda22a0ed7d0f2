package embedded_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaic-rtc/mosaic/internal/embedded"
)

// TestCloseLeavesNoGoroutines: after Close nothing of either server keeps
// running (the S3 server's HTTP worker pool winds down within seconds).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	opts := goleak.IgnoreCurrent()
	ctx := context.Background()
	s, err := embedded.StartS3(ctx, embedded.S3Config{Dir: t.TempDir(), AccessKey: "mosaic", SecretKey: "mosaic-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := embedded.StartRedis(ctx, embedded.RedisConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := goleak.Find(opts)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
