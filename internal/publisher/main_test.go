package publisher

import (
	"testing"

	"go.uber.org/goleak"
)

// Every Publish and WHEPView must leave no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
