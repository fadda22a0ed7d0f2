package embedded

import (
	"context"
	"fmt"
	"net"
	"time"
)

// freeLoopbackAddr returns 127.0.0.1:PORT for a port that was free a moment ago.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("embedded: free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// waitTCP dials addr until it accepts, ctx ends, or exited closes.
func waitTCP(ctx context.Context, addr string, exited <-chan struct{}) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNotReady, addr, err)
		case <-exited:
			return fmt.Errorf("%w before accepting on %s", ErrExited, addr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
