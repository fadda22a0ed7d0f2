package hls

import (
	"testing"

	"go.uber.org/goleak"
)

// Every muxer, pipeline and goroutine a test starts is gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
