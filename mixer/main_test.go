package mixer

import (
	"testing"

	"go.uber.org/goleak"
)

// Every mixer a test starts must be gone, goroutines included, when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
